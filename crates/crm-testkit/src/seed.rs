//! Putting contacts in place, straight through the server's data layer (not timed).
//!
//! A realistic contact is a person with 3 contact infos (phone, email, website), 1 address,
//! 2 custom-field values, 3 tags, 2 tasks and 1 access-list entry, a status, a type and a
//! currency. Rows go in with `insert_many`, 500 contacts to a transaction.

use anyhow::{Context, anyhow};
use chrono::{Duration, Utc};
use crm_models::{FieldType, InfoType, ShareType};
use crm_server::{
    testkit::entities::{
        contact, contact_access, contact_info, contact_tag, custom_field, custom_field_value,
        list_item, tag, task,
    },
    users::{self, NewUser, User},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

/// Contacts inserted per transaction: keeps every `insert_many` below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters (the largest, the infos, takes 2,000 rows × 10).
const CHUNK: usize = 500;
/// Custom fields defined for persons (a huge contact has a value in each).
const FIELDS: usize = 20;
/// Tags in the portal (a realistic contact has 3 of them, a huge one 20).
const TAGS: usize = 50;

/// What every contact refers to.
pub struct Fixture {
    /// The administrator, created as the server's first start would (with the benchmark's key).
    pub admin: User,
    /// The user on every contact's access list.
    pub member: User,
    fields: Vec<i32>,
    tags: Vec<i32>,
    status: i32,
    kind: i32,
}

/// The first-start state of a fresh, migrated database: the administrator with `key`, one more
/// user, 20 custom fields for persons and 50 tags.
pub async fn fixture(db: &DatabaseConnection, key: &str) -> anyhow::Result<Fixture> {
    let admin = users::bootstrap(db, Some(key.to_owned()))
        .await?
        .ok_or_else(|| anyhow!("the database already has users"))?
        .user;
    let member = users::add_user(
        db,
        NewUser {
            name: "Mia Member".to_owned(),
            title: "Account manager".to_owned(),
            admin: false,
            profile_url: "https://people.example.com/mia".to_owned(),
        },
    )
    .await?;
    let first = |kind: i16| {
        list_item::Entity::find()
            .filter(list_item::Column::Kind.eq(kind))
            .order_by_asc(list_item::Column::Id)
            .one(db)
    };
    let status = first(list_item::KIND_STATUS)
        .await?
        .context("no contact status in the reference data")?
        .id;
    let kind = first(list_item::KIND_TYPE)
        .await?
        .context("no contact type in the reference data")?
        .id;

    custom_field::Entity::insert_many((0..FIELDS).map(|i| custom_field::ActiveModel {
        entity_type: Set(custom_field::FOR_PERSON),
        label: Set(format!("Field {i}")),
        field_type: Set(FieldType::TextField.value() as i16),
        mask: Set(String::new()),
        position: Set(i as i32),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await?;
    let fields = custom_field::Entity::find()
        .order_by_asc(custom_field::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|field| field.id)
        .collect();
    tag::Entity::insert_many((0..TAGS).map(|i| tag::ActiveModel {
        title: Set(format!("tag-{i:02}")),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await?;
    let tags = tag::Entity::find()
        .order_by_asc(tag::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|tag| tag.id)
        .collect();
    Ok(Fixture {
        admin,
        member,
        fields,
        tags,
        status,
        kind,
    })
}

/// How much a contact holds.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Contact infos besides the address (phones, emails, websites in turn).
    pub infos: usize,
    /// Addresses.
    pub addresses: usize,
    /// Custom-field values (at most 20).
    pub fields: usize,
    /// Tags (at most 50).
    pub tags: usize,
    /// Tasks.
    pub tasks: usize,
    /// Access-list entries (0 or 1).
    pub access: usize,
}

impl Shape {
    /// 3 infos, 1 address, 2 custom-field values, 3 tags, 2 tasks, 1 access-list entry.
    pub const REALISTIC: Self = Self {
        infos: 3,
        addresses: 1,
        fields: 2,
        tags: 3,
        tasks: 2,
        access: 1,
    };
    /// Nothing but the contact row.
    pub const BARE: Self = Self {
        infos: 0,
        addresses: 0,
        fields: 0,
        tags: 0,
        tasks: 0,
        access: 0,
    };
    /// 50 infos, 20 tags, 20 custom-field values (and the rest as a realistic contact).
    pub const HUGE: Self = Self {
        infos: 50,
        addresses: 1,
        fields: 20,
        tags: 20,
        tasks: 2,
        access: 1,
    };
}

/// Inserts the contacts `ids` (explicit IDs), each of `shape`.
pub async fn contacts(
    db: &DatabaseConnection,
    fixture: &Fixture,
    ids: std::ops::RangeInclusive<i32>,
    shape: Shape,
) -> anyhow::Result<()> {
    let ids: Vec<i32> = ids.collect();
    for chunk in ids.chunks(CHUNK) {
        crm_server::db::write(db, |tx| async move {
            insert_chunk(&*tx, fixture, chunk, shape).await
        })
        .await?;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        // Explicit IDs leave the sequence behind: later inserts must not collide with them.
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('contacts', 'id'), \
             (SELECT MAX(id) FROM contacts))",
        )
        .await?;
    }
    Ok(())
}

async fn insert_chunk(
    tx: &impl ConnectionTrait,
    fixture: &Fixture,
    ids: &[i32],
    shape: Shape,
) -> anyhow::Result<()> {
    let now = Utc::now();
    contact::Entity::insert_many(ids.iter().map(|&id| contact::ActiveModel {
        id: Set(id),
        is_company: Set(false),
        first_name: Set(format!("Person{id}")),
        last_name: Set("Benchmark".to_owned()),
        company_name: Set(String::new()),
        job_title: Set("Purchasing manager".to_owned()),
        company_id: Set(None),
        about: Set(format!(
            "Met at the trade fair; follow up about the spring order (contact {id})."
        )),
        industry: Set("Logistics".to_owned()),
        status_id: Set(Some(fixture.status)),
        type_id: Set(Some(fixture.kind)),
        currency: Set(Some("EUR".to_owned())),
        share_type: Set(ShareType::ReadWrite.value() as i16),
        created_by: Set(fixture.admin.id),
        created_at: Set(now),
        small_photo_url: Set(None),
        medium_photo_url: Set(None),
    }))
    .exec_without_returning(tx)
    .await?;

    let info = contact_info::ActiveModel::blank;
    let mut infos = Vec::new();
    for &id in ids {
        for i in 0..shape.infos {
            let mut row = match i % 3 {
                0 => info(id, InfoType::Phone, 1, i == 0),
                1 => info(id, InfoType::Email, 0, i == 1),
                _ => info(id, InfoType::Website, 0, i == 2),
            };
            row.data = Set(match i % 3 {
                0 => format!("+1 555 {:04}", (id as usize + i) % 10_000),
                1 => format!("person{id}.{i}@example.com"),
                _ => format!("https://example.com/people/{id}/{i}"),
            });
            infos.push(row);
        }
        for i in 0..shape.addresses {
            let mut row = info(id, InfoType::Address, 2, i == 0);
            row.street = Set(format!("{} Harbour Road", id % 200 + 1));
            row.city = Set("Riga".to_owned());
            row.state = Set(String::new());
            row.zip = Set(format!("LV-{:04}", id % 10_000));
            row.country = Set("Latvia".to_owned());
            infos.push(row);
        }
    }
    contact_info::Entity::insert_many(infos)
        .exec_without_returning(tx)
        .await?;

    custom_field_value::Entity::insert_many(ids.iter().flat_map(|&id| {
        fixture.fields[..shape.fields].iter().map(move |&field_id| {
            custom_field_value::ActiveModel {
                contact_id: Set(id),
                field_id: Set(field_id),
                value: Set(format!("value {field_id} of {id}")),
            }
        })
    }))
    .exec_without_returning(tx)
    .await?;

    // Tags spread over the portal's 50: contact `id` has those from `id mod 50` on.
    let tags = &fixture.tags;
    contact_tag::Entity::insert_many(ids.iter().flat_map(|&id| {
        (0..shape.tags).map(move |i| contact_tag::ActiveModel {
            contact_id: Set(id),
            tag_id: Set(tags[(id as usize + i * 7) % tags.len()]),
        })
    }))
    .exec_without_returning(tx)
    .await?;

    // One task done on time, one open and late.
    task::Entity::insert_many(ids.iter().flat_map(|&id| {
        (0..shape.tasks).map(move |i| task::ActiveModel {
            contact_id: Set(id),
            title: Set(format!("Call back about order {i}")),
            deadline: Set(Some(now - Duration::days(3 - i as i64))),
            is_closed: Set(i % 2 == 0),
            created_at: Set(now),
            ..Default::default()
        })
    }))
    .exec_without_returning(tx)
    .await?;

    let member = fixture.member.id;
    contact_access::Entity::insert_many(ids.iter().flat_map(|&id| {
        (0..shape.access).map(move |_| contact_access::ActiveModel {
            contact_id: Set(id),
            user_id: Set(member),
        })
    }))
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

/// After a bulk load, the state of a database loaded long ago: PostgreSQL gets fresh planner
/// statistics and visibility information (as autovacuum would give it) and writes the load out
/// (`CHECKPOINT`, when the role may), so the run does not pay for it; SQLite moves its
/// write-ahead log into the database file, so the run starts with an empty log.
pub async fn settle(db: &DatabaseConnection) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared("VACUUM ANALYZE").await?;
            if let Err(error) = db.execute_unprepared("CHECKPOINT").await {
                eprintln!("note: no CHECKPOINT after the load ({error})");
            }
        }
        _ => {
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
    }
    Ok(())
}
