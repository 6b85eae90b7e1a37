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

/// The keychain's own entries, below the token store's layout.
#[cfg(target_os = "linux")]
mod raw {
    fn entry(user: &str) -> keyring_core::Entry {
        let service =
            std::env::var("IDESK_KEYCHAIN_SERVICE").expect("keychain() sets the namespace");
        let store: std::sync::Arc<keyring_core::CredentialStore> =
            zbus_secret_service_keyring_store::Store::new().expect("a Secret Service");
        store.build(&service, user, None).expect("an entry")
    }
    pub fn set(user: &str, bytes: &[u8]) {
        entry(user).set_secret(bytes).expect("written");
    }
    pub fn exists(user: &str) -> bool {
        entry(user).get_secret().is_ok()
    }
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs a Secret Service: make unit provides a private one"]
fn keychain_reads_a_torn_value_as_signed_out() {
    let store = keychain();
    let key = "refresh-token:torn";
    store.save(key, &Secret::new("x".repeat(3000))).unwrap();
    // One part replaced by other bytes, as a crash or another writer could leave it.
    raw::set(&format!("{key}/a1"), "y".repeat(1200).as_bytes());
    assert!(
        store.load(key).unwrap().is_none(),
        "a torn value reads as signed out, never as garbage"
    );
    store.delete(key).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs a Secret Service: make unit provides a private one"]
fn a_save_cut_short_keeps_the_value_stored_before() {
    let store = keychain();
    let key = "refresh-token:crash";
    let old = "o".repeat(2500);
    store.save(key, &Secret::new(old.clone())).unwrap();
    // A crash half way through saving the next value: some of its parts written, the head not.
    raw::set(&format!("{key}/b0"), "n".repeat(1200).as_bytes());
    raw::set(&format!("{key}/b1"), "n".repeat(1200).as_bytes());
    assert_eq!(
        store.load(key).unwrap().map(|s| s.expose().to_owned()),
        Some(old),
        "the value from before the crash is still whole"
    );
    // The next save goes through, and leaves none of the half-written parts behind.
    store.save(key, &Secret::new("new")).unwrap();
    assert_eq!(store.load(key).unwrap().unwrap().expose(), "new");
    store.delete(key).unwrap();
    for part in ["a0", "a1", "a2", "b0", "b1"] {
        assert!(
            !raw::exists(&format!("{key}/{part}")),
            "{part} was left behind"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs a Secret Service: make unit provides a private one"]
fn delete_without_a_readable_head_removes_every_part() {
    let store = keychain();
    let key = "refresh-token:headless";
    for part in ["/a0", "/a1", "/b0"] {
        raw::set(&format!("{key}{part}"), b"left by a crash");
    }
    raw::set(key, b"not a head");
    store.delete(key).unwrap();
    assert!(!raw::exists(key));
    for part in ["/a0", "/a1", "/b0"] {
        assert!(
            !raw::exists(&format!("{key}{part}")),
            "{part} was left behind"
        );
    }
}

#[test]
#[ignore = "needs a Secret Service: make unit provides a private one"]
fn a_profile_named_like_another_profiles_part_does_not_collide() {
    let store = keychain();
    let (a, a0) = ("refresh-token:a", "refresh-token:a#0");
    let long = "l".repeat(2500);
    store.save(a, &Secret::new(long.clone())).unwrap();
    store.save(a0, &Secret::new("profile a#0's token")).unwrap();
    assert_eq!(store.load(a).unwrap().unwrap().expose(), long, "a is whole");
    assert_eq!(
        store.load(a0).unwrap().unwrap().expose(),
        "profile a#0's token"
    );
    store.delete(a).unwrap();
    assert_eq!(
        store.load(a0).unwrap().unwrap().expose(),
        "profile a#0's token",
        "deleting a leaves a#0 alone"
    );
    store.delete(a0).unwrap();
}
