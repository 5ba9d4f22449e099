//! `DELETE /api/2.0/crm/contact/{contactid}`: the response, the cascade, the audit record.

use crm_models::ShareType;
use crm_testkit::entities::{
    audit_event, contact, contact_access, contact_info, contact_tag, custom_field_value, tag, task,
    user,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use std::sync::atomic::Ordering;

use crate::{
    fixtures,
    helpers::{Backend, TestApp, cid, error_status},
};

async fn deleting_a_full_person_returns_it_and_removes_every_child_row(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (reader, _) = app.member("Rita Reader").await;
    let (id, expected) = fixtures::full_person(&app.db, &app.admin, &reader).await;
    let tags_before = tag::Entity::find().count(&app.db).await.unwrap();

    let response = app.admin_client().delete_contact(cid(id)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = serde_json::to_value(response.into_inner()).unwrap();
    assert_eq!(body, serde_json::to_value(&expected).unwrap());

    let db = &app.db;
    assert_eq!(contact::Entity::find_by_id(id).count(db).await.unwrap(), 0);
    let children = [
        contact_info::Entity::find()
            .filter(contact_info::Column::ContactId.eq(id))
            .count(db)
            .await
            .unwrap(),
        custom_field_value::Entity::find()
            .filter(custom_field_value::Column::ContactId.eq(id))
            .count(db)
            .await
            .unwrap(),
        contact_tag::Entity::find()
            .filter(contact_tag::Column::ContactId.eq(id))
            .count(db)
            .await
            .unwrap(),
        task::Entity::find()
            .filter(task::Column::ContactId.eq(id))
            .count(db)
            .await
            .unwrap(),
        contact_access::Entity::find()
            .filter(contact_access::Column::ContactId.eq(id))
            .count(db)
            .await
            .unwrap(),
    ];
    assert_eq!(children, [0; 5], "infos, values, tag links, tasks, access");
    // Tags, users and the other contact's rows stay.
    assert_eq!(tag::Entity::find().count(db).await.unwrap(), tags_before);
    assert_eq!(user::Entity::find().count(db).await.unwrap(), 2);
    assert_eq!(contact_tag::Entity::find().count(db).await.unwrap(), 1);
    assert_eq!(
        custom_field_value::Entity::find().count(db).await.unwrap(),
        1
    );

    let audit = audit_event::Entity::find().all(db).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "PersonDeleted");
    assert_eq!(audit[0].contact_id, id);
    assert_eq!(audit[0].user_id, Some(app.admin.id));
    assert_eq!(audit[0].display_name, "Jane Doe");

    let (status, error) = error_status(app.admin_client().delete_contact(cid(id)).await);
    assert_eq!(status, 404);
    assert_eq!(error.code, "contact_not_found");
    assert_eq!(audit_event::Entity::find().count(db).await.unwrap(), 1);
}

async fn deleting_a_company_keeps_its_people_and_clears_their_link(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let company = fixtures::insert(&app.db, fixtures::company(app.admin.id, "Acme Ltd")).await;
    let mut people = Vec::new();
    for name in ["Ann", "Bob"] {
        let mut row = fixtures::person(app.admin.id, name, "Smith");
        row.company_id = Set(Some(company));
        people.push(fixtures::insert(&app.db, row).await);
    }

    let deleted = app
        .admin_client()
        .delete_contact(cid(company))
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.is_company);
    assert_eq!(deleted.display_name, "Acme Ltd");
    assert_eq!(deleted.small_foto_url, "/images/company_40.svg");

    for id in people {
        let person = contact::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .expect("the person stays");
        assert_eq!(person.company_id, None);
    }
    let audit = audit_event::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(audit[0].action, "CompanyDeleted");
}

async fn deleting_a_person_leaves_its_company(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let company = fixtures::insert(&app.db, fixtures::company(app.admin.id, "Acme Ltd")).await;
    let mut row = fixtures::person(app.admin.id, "Ann", "Smith");
    row.company_id = Set(Some(company));
    let person = fixtures::insert(&app.db, row).await;

    app.admin_client()
        .delete_contact(cid(person))
        .await
        .unwrap();
    assert_eq!(
        contact::Entity::find_by_id(company)
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

/// Who may delete: admin, anyone when shared read-write, a user on the access list. The creator
/// as such may not.
async fn the_permission_rule_decides_who_may_delete(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (member, member_key) = app.member("Max Member").await;
    let (listed, listed_key) = app.member("Lisa Listed").await;
    let db = &app.db;

    let cases = [
        (
            "member, private",
            ShareType::None,
            &member_key,
            member.id,
            vec![],
            403,
        ),
        (
            "member, read-only",
            ShareType::Read,
            &member_key,
            member.id,
            vec![],
            403,
        ),
        (
            "member, read-write",
            ShareType::ReadWrite,
            &member_key,
            member.id,
            vec![],
            200,
        ),
        (
            "listed, private",
            ShareType::None,
            &listed_key,
            member.id,
            vec![listed.id],
            200,
        ),
        (
            "listed, read-only",
            ShareType::Read,
            &listed_key,
            member.id,
            vec![listed.id],
            200,
        ),
        (
            "admin, private",
            ShareType::None,
            &app.admin_key,
            member.id,
            vec![],
            200,
        ),
        (
            "creator, private",
            ShareType::None,
            &member_key,
            member.id,
            vec![listed.id],
            403,
        ),
        (
            "creator, read-only",
            ShareType::Read,
            &member_key,
            member.id,
            vec![],
            403,
        ),
    ];
    for (name, share, key, creator, access, expected) in cases {
        let id = fixtures::shared(db, creator, share, &access).await;
        let result = app.client(key).delete_contact(cid(id)).await;
        match expected {
            200 => {
                let contact = result
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"))
                    .into_inner();
                assert!(contact.can_delete, "{name}");
                assert_eq!(contact.id, id);
            }
            status => {
                let (got, error) = error_status(result);
                assert_eq!(got, status, "{name}");
                assert_eq!(error.code, "forbidden", "{name}");
                assert_eq!(
                    contact::Entity::find_by_id(id).count(db).await.unwrap(),
                    1,
                    "{name}"
                );
            }
        }
    }
}

async fn of_two_concurrent_deletes_exactly_one_succeeds(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (first, second) = (app.admin_client(), app.admin_client());
    for round in 0..5 {
        let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
        let (a, b) = tokio::join!(
            first.delete_contact(cid(id)),
            second.delete_contact(cid(id))
        );
        let mut statuses = [a, b].map(|result| match result {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.status().map(|s| s.as_u16()).unwrap_or(0),
        });
        statuses.sort();
        assert_eq!(statuses, [200, 404], "round {round}");
    }
    assert_eq!(audit_event::Entity::find().count(&app.db).await.unwrap(), 5);
}

/// The display name the audit record and the trash keep is the one the response shows, trimmed
/// of every kind of white space Rust trims (PostgreSQL's delete computes it in SQL).
async fn the_audit_and_the_trash_name_a_contact_as_the_response_does(backend: Backend) {
    use sea_orm::{ActiveModelTrait, ConnectionTrait, IntoActiveModel, Statement};

    let app = TestApp::spawn_on(backend).await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let mut row = contact::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.first_name = Set("\u{a0}\tAnn\u{2003}".to_owned());
    row.last_name = Set("\u{3000}Lee\u{205f} ".to_owned());
    row.update(&app.db).await.unwrap();

    let response = app.admin_client().delete_contact(cid(id)).await.unwrap();
    assert_eq!(response.display_name, "Ann Lee");
    let audit = audit_event::Entity::find()
        .filter(audit_event::Column::ContactId.eq(id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audit.display_name, "Ann Lee");
    let entry = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT display_name FROM contact_trash WHERE contact_id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        entry.try_get::<String>("", "display_name").unwrap(),
        "Ann Lee"
    );
}

/// The number of statements a delete runs does not grow with what the contact holds.
async fn a_delete_runs_the_same_number_of_statements_for_a_bare_and_a_full_contact(
    backend: Backend,
) {
    let on_postgres = matches!(backend, Backend::Postgres(_));
    let app = TestApp::spawn_on(backend).await;
    let (reader, _) = app.member("Rita Reader").await;
    let (full, _) = fixtures::full_person(&app.db, &app.admin, &reader).await;
    let bare = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;

    // A second pool on the same file, counting the statements it runs.
    let (counted, statements) = crate::helpers::counting_pool(&app.database_url).await;

    let mut counts = Vec::new();
    for id in [bare, full] {
        statements.store(0, Ordering::SeqCst);
        crm_server::contacts::delete(
            &counted,
            id,
            &app.admin,
            crm_server::contacts::trash::DEFAULT_RETENTION,
        )
        .await
        .unwrap();
        counts.push(statements.load(Ordering::SeqCst));
    }
    assert!(counts[0] > 0);
    assert_eq!(
        counts[0], counts[1],
        "statements for a bare and a full contact"
    );
    if on_postgres {
        // One statement, committed on its own: one round trip (crm_delete_contacts).
        assert_eq!(counts, [1, 1], "statements of a delete on PostgreSQL");
    }
}

crate::backend_tests!(
    deleting_a_full_person_returns_it_and_removes_every_child_row,
    deleting_a_company_keeps_its_people_and_clears_their_link,
    deleting_a_person_leaves_its_company,
    the_permission_rule_decides_who_may_delete,
    of_two_concurrent_deletes_exactly_one_succeeds,
    the_audit_and_the_trash_name_a_contact_as_the_response_does,
    a_delete_runs_the_same_number_of_statements_for_a_bare_and_a_full_contact,
);
