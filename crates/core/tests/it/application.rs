//! Application profiles (client credentials) against the real OpenID provider: a client secret,
//! and a certificate whose key signs a client assertion per token request.

use idesk_core::auth::certificate::read_pem_file;
use idesk_core::auth::token_store::{client_secret_key, MemoryStore};
use idesk_core::config::{Credential, Profile};

use crate::support::*;

/// The access token's claims, unverified: the test reads what the IdP issued.
fn claims(token: &Secret) -> serde_json::Value {
    jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(token.expose())
        .expect("a JWT access token")
        .claims
}

/// Another key and self-signed certificate, which the tenant has never seen.
fn unregistered_certificate(dir: &std::path::Path) -> std::path::PathBuf {
    let (key, cert, both) = (dir.join("k"), dir.join("c"), dir.join("both.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=stranger",
            "-days",
            "1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl made a certificate");
    let text = std::fs::read_to_string(&key).unwrap() + &std::fs::read_to_string(&cert).unwrap();
    std::fs::write(&both, text).unwrap();
    both
}

#[tokio::test]
async fn a_certificate_profile_signs_in_as_the_application_and_keeps_its_key_in_the_keychain_only()
{
    let idp = idp::Idp::start();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let profile = idp.app_profile(Credential::Certificate);
    let pem = read_pem_file(std::path::Path::new(&idp.app_certificate)).expect("the sandbox's PEM");

    let account = Session::new(profile.clone(), Arc::clone(&store))
        .unwrap()
        .set_app_credential(pem)
        .await
        .expect("the tenant accepts the certificate");
    assert_eq!(
        account.name.as_deref(),
        Some(format!("Application {}", idp.app_cert_client_id).as_str())
    );
    let stored = store.load(&client_secret_key("it")).unwrap().expect("kept");
    assert!(
        stored.expose().contains("BEGIN CERTIFICATE") && stored.expose().contains("PRIVATE KEY"),
        "the keychain holds the key and certificate, sealed to the profile"
    );

    // A later start: the credential comes from the keychain, and each token request carries a
    // fresh assertion.
    let later = Session::new(profile, Arc::clone(&store)).unwrap();
    let token = later
        .access_token()
        .await
        .expect("a token from the stored certificate");
    let c = claims(&token);
    assert_eq!(c["appid"], idp.app_cert_client_id.as_str());
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(idp.grants("client_credentials").await, 2);
}

#[tokio::test]
async fn a_certificate_the_tenant_has_not_registered_is_refused_as_entra_does_and_nothing_is_kept()
{
    let idp = idp::Idp::start();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let pem = read_pem_file(&unregistered_certificate(dir.path())).expect("a well-formed PEM");
    let e = Session::new(idp.app_profile(Credential::Certificate), Arc::clone(&store))
        .unwrap()
        .set_app_credential(pem)
        .await
        .expect_err("refused");
    let text = e.to_string();
    assert!(text.contains("Certificates & secrets"), "{text}");
    assert!(text.contains("700027"), "the support code is shown: {text}");
    assert!(store.load(&client_secret_key("it")).unwrap().is_none());
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_with_entras_code_and_a_right_one_replaces_nothing_until_it_works(
) {
    let idp = idp::Idp::start();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let session = Session::new(idp.app_profile(Credential::Secret), Arc::clone(&store)).unwrap();
    let e = session
        .set_app_credential(Secret::new("not-the-secret"))
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("client secret is wrong"), "{e}");
    assert!(store.load(&client_secret_key("it")).unwrap().is_none());

    session
        .set_app_credential(Secret::new(idp.app_client_secret.clone()))
        .await
        .expect("the right secret works");
    let token = session.access_token().await.unwrap();
    assert_eq!(claims(&token)["appid"], idp.app_client_id.as_str());
}

#[tokio::test]
async fn a_secret_stored_for_the_profile_is_never_sent_as_a_certificate_or_the_other_way_round() {
    let idp = idp::Idp::start();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    Session::new(idp.app_profile(Credential::Secret), Arc::clone(&store))
        .unwrap()
        .set_app_credential(Secret::new(idp.app_client_secret.clone()))
        .await
        .unwrap();
    // The same profile name, now a certificate profile of the same app registration.
    let profile = Profile {
        credential: Credential::Certificate,
        ..idp.app_profile(Credential::Secret)
    };
    let before = idp.token_requests().await;
    let e = Session::new(profile, Arc::clone(&store))
        .unwrap()
        .access_token()
        .await
        .expect_err("nothing to sign in with");
    assert!(matches!(e, Error::NotSignedIn), "{e:?}");
    assert_eq!(
        idp.token_requests().await,
        before,
        "the secret went nowhere"
    );
    assert!(store.load(&client_secret_key("it")).unwrap().is_none());
}

#[tokio::test]
async fn an_edited_application_profile_keeps_its_secret_unless_it_names_another_registration() {
    use idesk_core::config::{Config, Dirs};
    use idesk_core::desk;
    let idp = idp::Idp::start();
    let dir = tempfile::tempdir().unwrap();
    let dirs = Dirs {
        config: dir.path().join("config"),
        data: dir.path().join("data"),
    };
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let profile = idp.app_profile(Credential::Secret);
    let secret = Secret::new(idp.app_client_secret.clone());
    desk::add_profile(&dirs, &store, profile.clone(), Some(secret))
        .await
        .expect("added");

    // Read only now, no secret typed: the stored one stays, and still works.
    let edited = Profile {
        read_only: true,
        ..profile.clone()
    };
    desk::update_profile(&dirs, &store, edited.clone(), None)
        .await
        .expect("edited");
    let saved = Config::load(&dirs).unwrap();
    assert!(saved.profile("it").unwrap().read_only);
    assert_eq!(saved.current.as_deref(), Some("it"));
    let token = Session::new(edited, Arc::clone(&store))
        .unwrap()
        .access_token()
        .await
        .expect("a token from the kept secret");
    assert_eq!(claims(&token)["appid"], idp.app_client_id.as_str());

    // Another app registration without its credential: refused, and the file is as it was.
    let other = Profile {
        client_id: idp.app_cert_client_id.clone(),
        ..profile.clone()
    };
    let e = desk::update_profile(&dirs, &store, other, None)
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("credential again"), "{e}");
    assert_eq!(Config::load(&dirs).unwrap(), saved);

    // An edit never creates a profile.
    let stranger = Profile {
        name: "nobody".into(),
        ..profile
    };
    let e = desk::update_profile(&dirs, &store, stranger, None)
        .await
        .expect_err("no such profile");
    assert!(e.to_string().contains("no profile named"), "{e}");
}
