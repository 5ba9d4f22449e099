//! Authentication: 401 for a missing, unknown or revoked key, raw or `Bearer`.

use crm_models::ShareType;
use crm_server::users;

use crate::{
    fixtures,
    helpers::{Backend, TestApp, cid, error_status},
};

async fn requests_without_a_valid_key_get_401(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let (member, revoked_key) = app.member("Rex Revoked").await;
    let keys = users::list_keys(&app.db).await.unwrap();
    let revoked = keys.iter().find(|k| k.user_id == member.id).unwrap();
    users::revoke_key(&app.db, revoked.id).await.unwrap();

    let anonymous = crm_client::Client::new(&app.address);
    let (status, error) = error_status(anonymous.delete_contact(cid(id)).await);
    assert_eq!((status, error.code.as_str()), (401, "unauthorized"));
    assert_eq!(error.status, 401);

    for key in [
        "864FE52C-1C1C-469F-9308-51DAFEFE7436".to_owned(),
        "Bearer 864FE52C-1C1C-469F-9308-51DAFEFE7436".to_owned(),
        revoked_key.clone(),
        format!("Bearer {revoked_key}"),
        // The right prefix with the wrong rest.
        format!("{}0000", &app.admin_key[..app.admin_key.len() - 4]),
    ] {
        let (status, error) = error_status(app.client(&key).delete_contact(cid(id)).await);
        assert_eq!(status, 401, "{key}");
        assert_eq!(error.code, "unauthorized");
    }
    // Nothing was deleted by any of them.
    let deleted = app
        .client(&format!("Bearer {}", app.admin_key))
        .delete_contact(cid(id))
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);

    // The scheme a 401 names in `WWW-Authenticate` works too.
    let path = app.url(&format!("/api/2.0/crm/contact/{id}"));
    let refused = reqwest::Client::new().delete(&path).send().await.unwrap();
    let scheme = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(scheme.starts_with("ApiKey"), "{scheme}");
    let response = reqwest::Client::new()
        .delete(&path)
        .header("authorization", format!("ApiKey {}", app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404, "authenticated, and gone");
}

async fn the_key_is_checked_before_the_id(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let response = reqwest::Client::new()
        .delete(app.url("/api/2.0/crm/contact/0"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
}

crate::backend_tests!(
    requests_without_a_valid_key_get_401,
    the_key_is_checked_before_the_id,
);
