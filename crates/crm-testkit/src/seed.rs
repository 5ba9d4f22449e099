//! Putting contacts in place, straight through the server's data layer (not timed).
//!
//! A realistic contact is a person with 3 contact infos (phone, email, website), 1 address,
//! 2 custom-field values, 3 tags, 2 tasks and 1 access-list entry, a status, a type and a
//! currency. Rows go in as multi-row `INSERT`s (`insert_many`), 5,000 contacts to a transaction.

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
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, Iterable, QueryFilter, QueryOrder, QueryTrait, Set, Statement,
};

/// Contacts inserted per transaction (each table's rows split into statements below the
/// backend's limit of bound parameters).
const CHUNK: usize = 5_000;
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
    contacts_reporting(db, fixture, ids, shape, |_| {}).await
}

/// Inserts the contacts `ids` (explicit IDs), each of `shape`, and calls `progress` with the
/// number of contacts in place after each transaction.
///
/// As fast as the data layer allows: the multi-row `INSERT`s of a transaction (5,000
/// contacts) are built on a thread of their own while earlier transactions are written (two at
/// once on PostgreSQL), and each holds as many rows as the backend's limit of bound parameters
/// allows.
pub async fn contacts_reporting(
    db: &DatabaseConnection,
    fixture: &Fixture,
    ids: std::ops::RangeInclusive<i32>,
    shape: Shape,
    progress: impl FnMut(usize) + Send,
) -> anyhow::Result<()> {
    let plan = Plan {
        backend: db.get_database_backend(),
        admin: fixture.admin.id,
        member: fixture.member.id,
        fields: fixture.fields.clone(),
        tags: fixture.tags.clone(),
        status: fixture.status,
        kind: fixture.kind,
        shape,
        now: Utc::now(),
    };
    if shape.fields > plan.fields.len() || (shape.tags > 0 && plan.tags.is_empty()) {
        return Err(anyhow!(
            "a contact of {shape:?} needs more custom fields or tags than the fixture has"
        ));
    }
    // Three chunks built ahead at most: the builder waits while the database catches up.
    let (sender, receiver) = tokio::sync::mpsc::channel::<(usize, Vec<Statement>)>(3);
    let builder = std::thread::Builder::new()
        .name("seed-builder".to_owned())
        .spawn(move || {
            let ids: Vec<i32> = ids.collect();
            for chunk in ids.chunks(CHUNK) {
                if sender
                    .blocking_send((chunk.len(), plan.statements(chunk)))
                    .is_err()
                {
                    break; // the writers gave up
                }
            }
        })
        .context("cannot start the thread that builds the inserts")?;
    let written = {
        let receiver = tokio::sync::Mutex::new(receiver);
        // The contacts in place so far, with the callback: reported in order.
        let progress = std::sync::Mutex::new((0, progress));
        let writer = || async {
            loop {
                let next = receiver.lock().await.recv().await;
                let Some((count, statements)) = next else {
                    return Ok::<_, anyhow::Error>(());
                };
                let statements = &statements;
                crm_server::db::write(db, |tx| async move {
                    for statement in statements {
                        tx.execute_raw(statement.clone()).await?;
                    }
                    Ok::<_, DbErr>(())
                })
                .await?;
                if let Ok(mut progress) = progress.lock() {
                    let (done, report) = &mut *progress;
                    *done += count;
                    report(*done);
                }
            }
        };
        // PostgreSQL writes two transactions at once (a backend process each, so both cores
        // work); SQLite has one writer at a time anyway.
        if db.get_database_backend() == DbBackend::Postgres {
            tokio::try_join!(writer(), writer()).map(|_| ())
        } else {
            writer().await
        }
        // The receiver is dropped here, so a builder still sending stops.
    };
    builder
        .join()
        .map_err(|_| anyhow!("the thread that builds the inserts panicked"))?;
    written?;
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

/// The most bound parameters one statement may carry: SQLite's default limit (32,766) and
/// PostgreSQL's (65,535).
fn max_parameters(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Postgres => 65_535,
        _ => 32_766,
    }
}

/// `rows` as multi-row `INSERT`s of at most [`max_parameters`] values each, appended to `out`.
fn inserts<A>(backend: DbBackend, rows: Vec<A>, out: &mut Vec<Statement>)
where
    A: ActiveModelTrait,
{
    let columns = <<A::Entity as EntityTrait>::Column as Iterable>::iter()
        .count()
        .max(1);
    let per_statement = (max_parameters(backend) / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let part: Vec<A> = rows.by_ref().take(per_statement).collect();
        out.push(<A::Entity as EntityTrait>::insert_many(part).build(backend));
    }
}

/// What the inserts of a chunk of contacts need, owned (it moves to the builder thread).
struct Plan {
    backend: DbBackend,
    admin: uuid::Uuid,
    member: uuid::Uuid,
    fields: Vec<i32>,
    tags: Vec<i32>,
    status: i32,
    kind: i32,
    shape: Shape,
    now: chrono::DateTime<Utc>,
}

impl Plan {
    /// The `INSERT`s of the contacts `ids` and of everything they hold.
    fn statements(&self, ids: &[i32]) -> Vec<Statement> {
        let (backend, shape, now) = (self.backend, self.shape, self.now);
        let mut out = Vec::new();
        inserts(
            backend,
            ids.iter()
                .map(|&id| contact::ActiveModel {
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
                    status_id: Set(Some(self.status)),
                    type_id: Set(Some(self.kind)),
                    currency: Set(Some("EUR".to_owned())),
                    share_type: Set(ShareType::ReadWrite.value() as i16),
                    created_by: Set(self.admin),
                    created_at: Set(now),
                    small_photo_url: Set(None),
                    medium_photo_url: Set(None),
                })
                .collect(),
            &mut out,
        );

        let info = contact_info::ActiveModel::blank;
        let mut infos = Vec::with_capacity(ids.len() * (shape.infos + shape.addresses));
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
        inserts(backend, infos, &mut out);

        inserts(
            backend,
            ids.iter()
                .flat_map(|&id| {
                    self.fields[..shape.fields].iter().map(move |&field_id| {
                        custom_field_value::ActiveModel {
                            contact_id: Set(id),
                            field_id: Set(field_id),
                            value: Set(format!("value {field_id} of {id}")),
                        }
                    })
                })
                .collect(),
            &mut out,
        );

        // Tags spread over the portal's 50: contact `id` has those from `id mod 50` on.
        let tags = &self.tags;
        inserts(
            backend,
            ids.iter()
                .flat_map(|&id| {
                    (0..shape.tags).map(move |i| contact_tag::ActiveModel {
                        contact_id: Set(id),
                        tag_id: Set(tags[(id as usize + i * 7) % tags.len()]),
                    })
                })
                .collect(),
            &mut out,
        );

        // One task done on time, one open and late.
        inserts(
            backend,
            ids.iter()
                .flat_map(|&id| {
                    (0..shape.tasks).map(move |i| task::ActiveModel {
                        contact_id: Set(id),
                        title: Set(format!("Call back about order {i}")),
                        deadline: Set(Some(now - Duration::days(3 - i as i64))),
                        is_closed: Set(i % 2 == 0),
                        created_at: Set(now),
                        ..Default::default()
                    })
                })
                .collect(),
            &mut out,
        );

        let member = self.member;
        inserts(
            backend,
            ids.iter()
                .flat_map(|&id| {
                    (0..shape.access).map(move |_| contact_access::ActiveModel {
                        contact_id: Set(id),
                        user_id: Set(member),
                    })
                })
                .collect(),
            &mut out,
        );
        out
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        scratch::{Backend, Scratch},
        sql::count,
    };

    const KEY: &str = "5EED0000-0000-4000-8000-000000005EED";

    #[test]
    fn rows_are_split_below_the_parameter_limit() {
        let tags = |n: i32| {
            (1..=n)
                .map(|id| contact_tag::ActiveModel {
                    contact_id: Set(id),
                    tag_id: Set(1),
                })
                .collect::<Vec<_>>()
        };
        let statements = |backend, n| {
            let mut out = Vec::new();
            inserts(backend, tags(n), &mut out);
            out
        };
        // Two columns: 16,383 rows a statement on SQLite, 32,767 on PostgreSQL.
        assert_eq!(statements(DbBackend::Sqlite, 16_383).len(), 1);
        assert_eq!(statements(DbBackend::Sqlite, 16_384).len(), 2);
        assert_eq!(statements(DbBackend::Postgres, 40_000).len(), 2);
        assert!(statements(DbBackend::Sqlite, 0).is_empty());
        for statement in statements(DbBackend::Sqlite, 40_000) {
            let values = statement.values.map_or(0, |v| v.0.len());
            assert!(values <= max_parameters(DbBackend::Sqlite), "{values}");
        }
    }

    /// Seeds a realistic contact and more than a transaction's worth of bare ones, and counts
    /// the rows and the progress reports.
    async fn seeds_every_row(backend: Backend) -> anyhow::Result<()> {
        let scratch = Scratch::create(&backend).await?;
        let db = crm_server::db::connect_and_migrate(&crm_server::db::DbConfig::new(
            scratch.url().to_owned(),
        ))
        .await?;
        let fixture = fixture(&db, KEY).await?;
        contacts(&db, &fixture, 1..=2, Shape::REALISTIC).await?;
        let bare = i32::try_from(CHUNK)? + 3;
        let mut reports = Vec::new();
        contacts_reporting(&db, &fixture, 3..=bare + 2, Shape::BARE, |n| {
            reports.push(n)
        })
        .await?;
        // After each transaction, in order (on PostgreSQL the small one may finish first).
        assert_eq!(reports.len(), 2);
        assert!(reports[0] == CHUNK || reports[0] == 3, "{reports:?}");
        assert_eq!(reports[1], CHUNK + 3);
        let expected = [
            ("contacts", 2 + i64::from(bare)),
            ("contact_infos", 8),
            ("custom_field_values", 4),
            ("contact_tags", 6),
            ("tasks", 4),
            ("contact_access", 2),
        ];
        for (table, rows) in expected {
            let n = count(&db, &format!("SELECT COUNT(*) AS n FROM {table}")).await;
            assert_eq!(n, rows, "{table}");
        }
        settle(&db).await?;
        db.close().await?;
        scratch.remove().await
    }

    #[tokio::test]
    async fn seeds_every_row_on_sqlite() -> anyhow::Result<()> {
        seeds_every_row(Backend::Sqlite).await
    }

    #[tokio::test]
    async fn seeds_every_row_on_postgres() -> anyhow::Result<()> {
        match Backend::postgres_from_env() {
            Some(backend) => seeds_every_row(backend).await,
            None => Ok(()), // no PostgreSQL named: skipped
        }
    }
}
