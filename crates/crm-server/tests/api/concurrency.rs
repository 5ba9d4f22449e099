//! Many requests at once: one winner per delete, no 500 under interleaved creates and deletes.

use std::collections::BTreeMap;

use crm_models::ShareType;
use futures::future::join_all;
use reqwest::header;
use sea_orm::{EntityTrait, PaginatorTrait};

use crm_testkit::entities::{audit_event, contact};

use crate::{
    fixtures,
    helpers::{Backend, TestApp},
    race::{raw_request, release_together},
};

async fn fifty_simultaneous_deletes_of_one_contact_succeed_once(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let client = reqwest::Client::new();
    let url = app.url(&format!("/api/2.0/crm/contact/{id}"));
    let statuses = join_all((0..50).map(|_| {
        client
            .delete(&url)
            .header(header::AUTHORIZATION, &app.admin_key)
            .send()
    }))
    .await;
    let mut counts = BTreeMap::new();
    for response in statuses {
        *counts
            .entry(response.unwrap().status().as_u16())
            .or_insert(0) += 1;
    }
    assert_eq!(counts, BTreeMap::from([(200, 1), (404, 49)]));
    assert_eq!(audit_event::Entity::find().count(&app.db).await.unwrap(), 1);
}

/// Eight clients create contacts (sharing tags, so tag creation races too) and delete, read and
/// re-delete each other's contacts: every answer is a 2xx or a 404, never a 5xx.
async fn interleaved_creates_and_deletes_never_fail(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = reqwest::Client::new();
    let workers = (0..8).map(|worker| {
        let client = client.clone();
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for round in 0..15 {
                let body = serde_json::json!({
                    "FirstName": format!("W{worker}R{round}"),
                    "Tags": ["shared", format!("round-{round}")],
                    "CommonData": [{"InfoType": 1, "Data": "x@example.com"}],
                });
                let created = client
                    .post(app.url("/api/2.0/crm/contact/person"))
                    .header(header::AUTHORIZATION, &app.admin_key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                statuses.push(created.status().as_u16());
                let id = created.json::<serde_json::Value>().await.unwrap()["ID"]
                    .as_i64()
                    .unwrap();
                // A neighbour's likely ID and our own, deleted and read concurrently.
                let targets = [id, id - 1, id + 1];
                let requests = targets.iter().filter(|t| **t > 0).flat_map(|target| {
                    let url = app.url(&format!("/api/2.0/crm/contact/{target}"));
                    [
                        client
                            .delete(&url)
                            .header(header::AUTHORIZATION, &app.admin_key)
                            .send(),
                        client
                            .get(&url)
                            .header(header::AUTHORIZATION, &app.admin_key)
                            .send(),
                    ]
                });
                for response in join_all(requests).await {
                    statuses.push(response.unwrap().status().as_u16());
                }
            }
            statuses
        }
    });
    let statuses: Vec<u16> = join_all(workers).await.into_iter().flatten().collect();
    let unexpected: Vec<_> = statuses
        .iter()
        .filter(|s| !matches!(s, 200 | 201 | 404))
        .collect();
    assert!(unexpected.is_empty(), "unexpected statuses: {unexpected:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 120);
    // Every contact was deleted by someone, exactly once.
    assert_eq!(contact::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(
        audit_event::Entity::find().count(&app.db).await.unwrap(),
        120
    );
}

/// Reads released at the same moment as the delete of the contact they read: each answer is the
/// whole contact as it was or a 404 — never the contact's row without its children (the read's
/// two statements once saw two states of the database).
async fn a_read_racing_a_delete_sees_the_contact_whole_or_not_at_all(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = reqwest::Client::new();
    let mut outcomes = BTreeMap::new();
    for round in 0..20 {
        let body = serde_json::json!({
            "FirstName": format!("Torn {round}"),
            "Tags": ["torn", "read"],
            "CommonData": [{"InfoType": 1, "Data": "t@example.com"}],
            "Addresses": [{"City": "Riga"}],
        });
        let created: serde_json::Value = client
            .post(app.url("/api/2.0/crm/contact/person"))
            .header(header::AUTHORIZATION, &app.admin_key)
            .json(&body)
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("JSON");
        let id = created["ID"].as_i64().expect("an ID");
        let path = format!("/api/2.0/crm/contact/{id}");
        let mut requests = vec![raw_request(&app.admin_key, "DELETE", &path, None)];
        requests.extend((0..6).map(|_| raw_request(&app.admin_key, "GET", &path, None)));
        let answers = release_together(&app, &requests).await;
        assert_eq!(answers[0].status, 200, "the delete: {:?}", answers[0]);
        for read in &answers[1..] {
            let outcome = match read.status {
                404 => "404",
                200 => {
                    let whole = ["CommonData", "Addresses", "Tags"]
                        .iter()
                        .all(|part| read.body[part] == created[part]);
                    assert!(whole, "round {round}: a torn read {}", read.body);
                    "whole"
                }
                _ => panic!("round {round}: {read:?}"),
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
        }
    }
    eprintln!("reads racing deletes: {outcomes:?}");
}

crate::backend_tests!(
    fifty_simultaneous_deletes_of_one_contact_succeed_once,
    interleaved_creates_and_deletes_never_fail,
    a_read_racing_a_delete_sees_the_contact_whole_or_not_at_all,
);
