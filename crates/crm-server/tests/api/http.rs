//! HTTP-level behaviour: status codes and JSON bodies for bad input, unknown routes and methods,
//! content negotiation, Swagger UI and the served document.

use crm_models::ShareType;
use reqwest::{Method, StatusCode, header};

use crate::{
    fixtures,
    helpers::{Backend, TestApp},
};

/// Sends a request with the admin key and returns the status and the JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .header(header::AUTHORIZATION, &app.admin_key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{path}: {body}"
    );
    (status, serde_json::from_str(&body).unwrap())
}

fn assert_error(body: &serde_json::Value, status: StatusCode, code: &str) {
    assert_eq!(body["Status"], status.as_u16(), "{body}");
    assert_eq!(body["Code"], code, "{body}");
    assert!(
        body["Message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// A request (method, path, extra headers) and the status and error code it must get.
type Case = (
    Method,
    String,
    &'static [(&'static str, &'static str)],
    StatusCode,
    &'static str,
);

async fn bad_requests_get_json_errors(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let cases: &[Case] = &[
        (
            Method::DELETE,
            "/api/2.0/crm/contact/0".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/2147483648".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/99999999999999999999999".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/000".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/2147483647".into(),
            &[],
            StatusCode::NOT_FOUND,
            "contact_not_found",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/abc".into(),
            &[],
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/-1".into(),
            &[],
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::GET,
            "/no/such/route".into(),
            &[],
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::PATCH,
            format!("/api/2.0/crm/contact/{id}"),
            &[],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::DELETE,
            format!("/api/2.0/crm/contact/{id}"),
            &[("accept", "application/xml")],
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
        ),
    ];
    for (method, path, headers, status, code) in cases {
        let (got, body) = call(&app, method.clone(), path, headers).await;
        assert_eq!(got, *status, "{method} {path}: {body}");
        assert_error(&body, *status, code);
    }
    // None of them deleted the contact; a well-formed request with JSON headers does.
    let (status, body) = call(
        &app,
        Method::DELETE,
        &format!("/api/2.0/crm/contact/{id}"),
        &[
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ID"], id);
}

async fn swagger_ui_and_the_document_are_served(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/", "/swagger-ui"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(response.headers()[header::LOCATION], "/swagger-ui/");
    }
    let page = client.get(app.url("/swagger-ui/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));

    let served = app.served_document().await;
    let committed = std::fs::read_to_string(crm_server::openapi::committed_path()).unwrap();
    let committed: serde_json::Value = yaml_serde::from_str(&committed).unwrap();
    assert_eq!(
        served, committed,
        "the served document is the committed openapi.yaml"
    );

    let picture = client
        .get(app.url("/images/person_40.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(picture.status(), StatusCode::OK);
    assert_eq!(picture.headers()[header::CONTENT_TYPE], "image/svg+xml");
}

/// A request that outlives the request timeout (here: its body arrives too slowly) is abandoned
/// with a 503 `Error`, and nothing it would have done is done.
async fn a_request_over_the_timeout_gets_503(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let body = br#"{"FirstName": "Slow"}"#;
    let head = format!(
        "POST /api/2.0/crm/contact/person HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.admin_key,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let _ = stream.write_all(&body[5..]).await;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_error(&body, StatusCode::SERVICE_UNAVAILABLE, "request_timeout");
    let count = sea_orm::PaginatorTrait::count(
        <crm_testkit::entities::contact::Entity as sea_orm::EntityTrait>::find(),
        &app.db,
    )
    .await
    .unwrap();
    assert_eq!(count, 0);
}

crate::backend_tests!(
    a_request_over_the_timeout_gets_503,
    bad_requests_get_json_errors,
    swagger_ui_and_the_document_are_served,
);
