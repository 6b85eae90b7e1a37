//! The token store in the real OS keychain: ignored unless a Secret Service is provided
//! (`make unit` runs them inside a private session bus + gnome-keyring with --include-ignored).

use crate::support::*;

#[test]
#[ignore = "needs a Secret Service: make unit provides a private one"]
fn keychain_round_trips_a_long_token_in_chunks() {
    let store = keychain();
    let key = "refresh-token:chunks";
    let long: String = (0..4096)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    store.save(key, &Secret::new(long.clone())).unwrap();
    assert_eq!(
        store.load(key).unwrap().map(|s| s.expose().to_owned()),
        Some(long),
        "read back whole"
    );

    // Overwrite with a shorter value: no stale chunk may survive or be read.
    store.save(key, &Secret::new("short")).unwrap();
    assert_eq!(store.load(key).unwrap().unwrap().expose(), "short");

    store.delete(key).unwrap();
    assert!(store.load(key).unwrap().is_none(), "deleted");
}

#[test]
#[ignore = "needs a Secret Service: make unit provides a private one"]
fn keychain_reads_a_torn_value_as_signed_out() {
    let store = keychain();
    let key = "refresh-token:torn";
    let long = "x".repeat(3000);
    store.save(key, &Secret::new(long)).unwrap();
    // Simulate a crash between writes: one part replaced by another value's part.
    let other = "refresh-token:other";
    store.save(other, &Secret::new("y".repeat(1300))).unwrap();
    let part = store.load(other).unwrap().unwrap();
    store.save(&format!("{key}#1"), &part).unwrap();
    assert!(
        store.load(key).unwrap().is_none(),
        "a torn value reads as signed out, never as garbage"
    );
    store.delete(key).unwrap();
    store.delete(other).unwrap();
}
