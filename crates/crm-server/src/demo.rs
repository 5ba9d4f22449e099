//! Demo data: three companies with their people, custom fields, tags, tasks and two portal
//! users, for trying the API (`crm-server --demo-data`, `crm-server demo-data`).
//!
//! Everything is built through the domain functions (`contacts::create`, `tasks::create`,
//! `reference::add_custom_field`, `users::add_user`), so the data passes the same validation as
//! a request. The contacts are created by the first administrator (the oldest admin user).
//!
//! # Loaded once
//!
//! The domain functions each open their own transaction, so the load is not one transaction.
//! Instead [`load`]:
//!
//! 1. on PostgreSQL, keeps a transaction holding the set-up lock (`db::lock_for_setup`) open for
//!    the whole load, so instances that load together run one after the other (and an instance
//!    that is migrating waits for the load to finish). That transaction takes one connection of
//!    the pool while the load writes through another: with a pool of one connection
//!    (`--db-max-connections 1`) this step is skipped, with a warning;
//! 2. checks the marker [`MARKER`] in the `settings` table: when it is there, does nothing;
//! 3. creates the data;
//! 4. writes the marker, after the data (`INSERT … ON CONFLICT DO NOTHING`).
//!
//! What that does not cover: a load that fails half-way writes no marker, so the next load
//! starts again. The custom fields and the demo users are looked up before they are created and
//! so are reused, but the contacts and tasks created before the failure would exist twice
//! (delete them, or start from an empty database). On SQLite, two processes loading into one
//! file at the same moment are not serialised (the write lock cannot be held while the domain
//! functions write through other connections); start one process with `--demo-data` at a time.

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use crm_models::{
    CustomFieldDefinition, CustomFieldValue, FieldType, InfoType, ListItem, NewAddress, NewCompany,
    NewContactInfo, NewCustomField, NewPerson, NewTask, ShareType,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use crate::{
    contacts::{self, Draft},
    db::{
        self,
        entities::{setting, user},
    },
    reference::{self, EntityType, ListKind},
    tasks,
    users::{self, NewUser},
};

/// The key in `settings` whose presence means the demo data is loaded. Its value is the time of
/// the load (RFC 3339).
pub const MARKER: &str = "demo_data_loaded";

/// What [`load`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoOutcome {
    /// The demo data was loaded now.
    Loaded {
        /// How many contacts (companies and persons) were created.
        contacts: usize,
        /// How many tasks were created.
        tasks: usize,
    },
    /// The demo data was loaded before; nothing was done.
    AlreadyLoaded,
}

/// Whether the demo data is loaded (the marker [`MARKER`] exists).
pub async fn is_loaded(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(setting::Entity::find_by_id(MARKER.to_owned())
        .one(db)
        .await?
        .is_some())
}

/// Loads the demo data unless it is loaded already (see the module documentation for how it is
/// loaded only once). Fails when no administrator exists to own the contacts.
pub async fn load(db: &DatabaseConnection) -> anyhow::Result<DemoOutcome> {
    let guard = match postgres_pool_size(db) {
        Some(size) if size >= 2 => {
            let tx = db
                .begin()
                .await
                .context("cannot start the transaction that serialises demo-data loads")?;
            db::lock_for_setup(&tx)
                .await
                .context("cannot take the set-up lock for the demo data")?;
            Some(tx)
        }
        Some(_) => {
            tracing::warn!(
                "the database pool has a single connection, which the demo data needs for \
                 itself: demo-data loads are not serialised between instances"
            );
            None
        }
        None => None,
    };
    let outcome = load_unguarded(db).await;
    if let Some(guard) = guard {
        // The guard wrote nothing: committing only releases the lock.
        let released = guard
            .commit()
            .await
            .context("cannot release the set-up lock after loading the demo data");
        let outcome = outcome?;
        released?;
        return Ok(outcome);
    }
    outcome
}

/// How many connections the pool may open when `db` is a PostgreSQL pool, else `None`.
fn postgres_pool_size(db: &DatabaseConnection) -> Option<u32> {
    matches!(
        db.inner,
        DatabaseConnectionType::SqlxPostgresPoolConnection(_)
    )
    .then(|| {
        db.get_postgres_connection_pool()
            .options()
            .get_max_connections()
    })
}

/// Steps 2 to 4 of [`load`]: check the marker, create the data, write the marker.
async fn load_unguarded(db: &DatabaseConnection) -> anyhow::Result<DemoOutcome> {
    if is_loaded(db)
        .await
        .context("cannot read the demo-data marker")?
    {
        return Ok(DemoOutcome::AlreadyLoaded);
    }
    let admin = first_admin(db).await?.context(
        "no administrator exists to own the demo data: add one with `crm-server users add \
         --admin`, or load the demo data into an empty database",
    )?;
    let mut loader = Loader {
        db,
        admin,
        now: Utc::now(),
        contacts: 0,
        tasks: 0,
    };
    loader.create_all().await?;
    let now = loader.now.to_rfc3339();
    let now = &now;
    db::write(db, |tx| async move {
        setting::Entity::insert(setting::ActiveModel {
            key: Set(MARKER.to_owned()),
            value: Set(now.clone()),
        })
        .on_conflict_do_nothing_on([setting::Column::Key])
        .exec_without_returning(&*tx)
        .await
    })
    .await
    .context("cannot write the demo-data marker")?;
    Ok(DemoOutcome::Loaded {
        contacts: loader.contacts,
        tasks: loader.tasks,
    })
}

/// The oldest administrator: the one `users::bootstrap` created, on a database it set up.
async fn first_admin(db: &DatabaseConnection) -> anyhow::Result<Option<user::Model>> {
    user::Entity::find()
        .filter(user::Column::IsAdmin.eq(true))
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .one(db)
        .await
        .context("cannot look up the first administrator")
}

/// Phone categories (see `InfoType::category_names`).
const PHONE_WORK: i32 = 1;
const PHONE_MOBILE: i32 = 2;
const PHONE_FAX: i32 = 3;
const PHONE_DIRECT: i32 = 4;
/// Categories of every other kind of info but addresses.
const HOME: i32 = 0;
const WORK: i32 = 1;
const OTHER: i32 = 2;
/// Address categories.
const ADDRESS_HOME: i32 = 0;
const ADDRESS_POSTAL: i32 = 1;
const ADDRESS_OFFICE: i32 = 2;
const ADDRESS_BILLING: i32 = 3;
const ADDRESS_WORK: i32 = 5;

/// The IDs of the demo custom fields.
struct Fields {
    birthday: i32,
    source: i32,
    employees: i32,
}

/// The IDs of the seeded contact statuses and types the demo uses (`None` when an administrator
/// removed or renamed one: the contacts then go without).
struct Lists {
    cold: Option<i32>,
    warm: Option<i32>,
    hot: Option<i32>,
    client: Option<i32>,
    supplier: Option<i32>,
    partner: Option<i32>,
    competitor: Option<i32>,
}

/// The demo users.
struct DemoUsers {
    sam: Uuid,
    petra: Uuid,
}

/// Creates the data and counts what it created.
struct Loader<'a> {
    db: &'a DatabaseConnection,
    admin: user::Model,
    now: DateTime<Utc>,
    contacts: usize,
    tasks: usize,
}

impl Loader<'_> {
    async fn create_all(&mut self) -> anyhow::Result<()> {
        let people = DemoUsers {
            sam: self
                .user("Sam Sales", "Account manager")
                .await
                .context("cannot add the demo user Sam Sales")?,
            petra: self
                .user("Petra Purchasing", "Purchasing lead")
                .await
                .context("cannot add the demo user Petra Purchasing")?,
        };
        let fields = self.fields().await?;
        let lists = self.lists().await?;
        self.northwind(&fields, &lists, &people).await?;
        self.baltic(&fields, &lists, &people).await?;
        self.lumen(&fields, &lists, &people).await?;
        Ok(())
    }

    /// A non-admin user with this name and title: the existing one (left by an interrupted
    /// load), or a new one.
    async fn user(&self, name: &str, title: &str) -> Result<Uuid, DbErr> {
        let existing = user::Entity::find()
            .filter(user::Column::DisplayName.eq(name))
            .filter(user::Column::Title.eq(title))
            .filter(user::Column::IsAdmin.eq(false))
            .one(self.db)
            .await?;
        if let Some(existing) = existing {
            return Ok(existing.id);
        }
        let new = NewUser {
            name: name.to_owned(),
            title: title.to_owned(),
            admin: false,
            profile_url: String::new(),
        };
        let new = &new;
        let user = db::write(self.db, |tx| async move {
            users::add_user(&*tx, new.clone()).await
        })
        .await?;
        Ok(user.id)
    }

    /// Defines the demo custom fields (or reuses definitions with the same label and type).
    /// `Source`, defined for every contact, comes after the person's and the company's own
    /// fields in both forms.
    async fn fields(&self) -> anyhow::Result<Fields> {
        // A heading groups the person's fields in a form; it takes no value.
        self.field("person", "Details", FieldType::Heading, "", None)
            .await?;
        let birthday = self
            .field("person", "Birthday", FieldType::Date, "", None)
            .await?;
        let employees = self
            .field("company", "Employees", FieldType::TextField, "", None)
            .await?;
        let after = birthday.position.max(employees.position).saturating_add(1);
        let source = self
            .field(
                "contact",
                "Source",
                FieldType::SelectBox,
                r#"["Referral","Trade fair","Website"]"#,
                Some(after),
            )
            .await?;
        Ok(Fields {
            birthday: birthday.id,
            source: source.id,
            employees: employees.id,
        })
    }

    async fn field(
        &self,
        entity: &str,
        label: &str,
        field_type: FieldType,
        mask: &str,
        position: Option<i32>,
    ) -> anyhow::Result<CustomFieldDefinition> {
        let what = || format!("cannot define the demo custom field {entity} {label:?}");
        let kind = EntityType::parse(entity).with_context(what)?;
        let existing = reference::custom_fields(self.db, kind)
            .await
            .with_context(what)?
            .into_iter()
            .find(|field| field.label == label && field.field_type == field_type);
        if let Some(existing) = existing {
            return Ok(existing);
        }
        let new = NewCustomField {
            label: label.to_owned(),
            field_type,
            mask: mask.to_owned(),
            position,
        };
        reference::add_custom_field(self.db, &self.admin, kind, new)
            .await
            .with_context(what)
    }

    async fn lists(&self) -> anyhow::Result<Lists> {
        let statuses = reference::list_items(self.db, ListKind::Status)
            .await
            .context("cannot read the contact statuses")?;
        let types = reference::list_items(self.db, ListKind::Type)
            .await
            .context("cannot read the contact types")?;
        let find = |items: &[ListItem], title: &str| {
            items
                .iter()
                .find(|item| item.title.eq_ignore_ascii_case(title))
                .map(|item| item.id)
        };
        Ok(Lists {
            cold: find(&statuses, "Cold"),
            warm: find(&statuses, "Warm"),
            hot: find(&statuses, "Hot"),
            client: find(&types, "Client"),
            supplier: find(&types, "Supplier"),
            partner: find(&types, "Partner"),
            competitor: find(&types, "Competitor"),
        })
    }

    async fn contact(&mut self, name: &str, draft: Draft) -> anyhow::Result<i32> {
        let created = contacts::create(self.db, &self.admin, draft)
            .await
            .with_context(|| format!("cannot create the demo contact {name:?}"))?;
        self.contacts += 1;
        Ok(created.contact.id)
    }

    async fn company(&mut self, new: NewCompany) -> anyhow::Result<i32> {
        let name = new.company_name.clone();
        self.contact(&name, Draft::from(new)).await
    }

    async fn person(&mut self, new: NewPerson) -> anyhow::Result<i32> {
        let name = format!("{} {}", new.first_name, new.last_name);
        self.contact(&name, Draft::from(new)).await
    }

    /// Adds a task due `days` from now (negative: in the past), or without a deadline.
    async fn task(
        &mut self,
        contact_id: i32,
        title: &str,
        days: Option<i64>,
        is_closed: bool,
    ) -> anyhow::Result<()> {
        let new = NewTask {
            title: title.to_owned(),
            contact_id,
            deadline: days.map(|days| self.now + TimeDelta::days(days)),
            is_closed,
        };
        tasks::create(self.db, &self.admin, new)
            .await
            .with_context(|| format!("cannot create the demo task {title:?}"))?;
        self.tasks += 1;
        Ok(())
    }

    /// A wholesale client in Seattle, shared read-write, with three people.
    async fn northwind(
        &mut self,
        fields: &Fields,
        lists: &Lists,
        people: &DemoUsers,
    ) -> anyhow::Result<()> {
        let company = self
            .company(NewCompany {
                about: "Imports and distributes speciality foods across North America. Our \
                        largest account since 2019."
                    .to_owned(),
                industry: "Wholesale food distribution".to_owned(),
                contact_status_id: lists.hot,
                contact_type_id: lists.client,
                currency: Some("USD".to_owned()),
                common_data: vec![
                    info(InfoType::Phone, PHONE_WORK, "+1 206 555 0100", true),
                    info(InfoType::Phone, PHONE_FAX, "+1 206 555 0101", false),
                    info(InfoType::Email, WORK, "orders@northwind.example", true),
                    info(InfoType::Website, WORK, "https://northwind.example", true),
                    info(
                        InfoType::LinkedIn,
                        WORK,
                        "https://www.linkedin.com/company/northwind-traders-example",
                        true,
                    ),
                ],
                addresses: vec![
                    address(
                        ADDRESS_OFFICE,
                        "507 Twentieth Avenue East",
                        "Seattle",
                        "WA",
                        "98122",
                        "United States",
                        true,
                    ),
                    address(
                        ADDRESS_BILLING,
                        "PO Box 4410",
                        "Seattle",
                        "WA",
                        "98104",
                        "United States",
                        false,
                    ),
                ],
                custom_fields: vec![
                    value(fields.employees, "240"),
                    value(fields.source, "Trade fair"),
                ],
                tags: tags(&["key account", "food"]),
                ..new_company("Northwind Traders")
            })
            .await?;

        let nancy = self
            .person(NewPerson {
                about: "Decides on all purchases above $10,000. Prefers e-mail to calls."
                    .to_owned(),
                industry: "Wholesale food distribution".to_owned(),
                contact_status_id: lists.hot,
                contact_type_id: lists.client,
                currency: Some("USD".to_owned()),
                common_data: vec![
                    info(
                        InfoType::Email,
                        WORK,
                        "nancy.davolio@northwind.example",
                        true,
                    ),
                    info(InfoType::Phone, PHONE_DIRECT, "+1 206 555 0111", true),
                    info(InfoType::Phone, PHONE_MOBILE, "+1 206 555 0198", false),
                    info(InfoType::Skype, WORK, "nancy.davolio.nw", true),
                    info(
                        InfoType::LinkedIn,
                        WORK,
                        "https://www.linkedin.com/in/nancy-davolio-example",
                        true,
                    ),
                ],
                addresses: vec![address(
                    ADDRESS_WORK,
                    "507 Twentieth Avenue East",
                    "Seattle",
                    "WA",
                    "98122",
                    "United States",
                    true,
                )],
                custom_fields: vec![
                    value(fields.birthday, "1978-12-08"),
                    value(fields.source, "Trade fair"),
                ],
                tags: tags(&["key account", "decision maker"]),
                ..new_person("Nancy", "Davolio", "Head of purchasing", Some(company))
            })
            .await?;

        let andrew = self
            .person(NewPerson {
                about: "Negotiating a volume discount; keep this contact between Sam and the \
                        administrators until the deal is signed."
                    .to_owned(),
                industry: "Wholesale food distribution".to_owned(),
                contact_status_id: lists.warm,
                contact_type_id: lists.client,
                currency: Some("USD".to_owned()),
                share_type: ShareType::None,
                access_list: vec![people.sam],
                common_data: vec![
                    info(
                        InfoType::Email,
                        WORK,
                        "andrew.fuller@northwind.example",
                        true,
                    ),
                    info(InfoType::Email, HOME, "andrew.fuller@mail.example", false),
                    info(InfoType::Phone, PHONE_WORK, "+1 206 555 0102", true),
                    info(InfoType::Twitter, OTHER, "@andrew_fuller_nw", true),
                ],
                custom_fields: vec![value(fields.birthday, "1972-02-19")],
                tags: tags(&["decision maker"]),
                ..new_person("Andrew", "Fuller", "Vice president, sales", Some(company))
            })
            .await?;

        let janet = self
            .person(NewPerson {
                contact_status_id: lists.cold,
                contact_type_id: lists.client,
                common_data: vec![
                    info(
                        InfoType::Email,
                        WORK,
                        "janet.leverling@northwind.example",
                        true,
                    ),
                    info(InfoType::Phone, PHONE_MOBILE, "+1 206 555 0147", true),
                ],
                addresses: vec![address(
                    ADDRESS_HOME,
                    "722 Moss Bay Boulevard",
                    "Kirkland",
                    "WA",
                    "98033",
                    "United States",
                    true,
                )],
                custom_fields: vec![value(fields.source, "Website")],
                tags: tags(&["food"]),
                ..new_person("Janet", "Leverling", "Sales representative", Some(company))
            })
            .await?;

        self.task(nancy, "Send the Q3 price list", Some(-3), false)
            .await?;
        self.task(
            andrew,
            "Call back about the volume discount",
            Some(-1),
            false,
        )
        .await?;
        self.task(company, "Sign the framework agreement", Some(-20), true)
            .await?;
        self.task(janet, "Invite to the spring tasting event", Some(14), false)
            .await?;
        Ok(())
    }

    /// A logistics supplier in Riga, shared read-only, with two people.
    async fn baltic(
        &mut self,
        fields: &Fields,
        lists: &Lists,
        people: &DemoUsers,
    ) -> anyhow::Result<()> {
        let company = self
            .company(NewCompany {
                about: "Our freight forwarder for the Baltic states and Finland: road and sea \
                        freight, customs clearance."
                    .to_owned(),
                industry: "Logistics".to_owned(),
                contact_status_id: lists.warm,
                contact_type_id: lists.supplier,
                currency: Some("EUR".to_owned()),
                share_type: ShareType::Read,
                common_data: vec![
                    info(InfoType::Phone, PHONE_WORK, "+371 6700 1200", true),
                    info(InfoType::Email, WORK, "booking@balticfreight.example", true),
                    info(
                        InfoType::Email,
                        OTHER,
                        "invoices@balticfreight.example",
                        false,
                    ),
                    info(
                        InfoType::Website,
                        WORK,
                        "https://balticfreight.example",
                        true,
                    ),
                ],
                addresses: vec![
                    address(
                        ADDRESS_OFFICE,
                        "Eksporta iela 12",
                        "Riga",
                        "",
                        "LV-1045",
                        "Latvia",
                        true,
                    ),
                    address(
                        ADDRESS_POSTAL,
                        "Pasta kaste 88",
                        "Riga",
                        "",
                        "LV-1010",
                        "Latvia",
                        false,
                    ),
                ],
                custom_fields: vec![
                    value(fields.employees, "85"),
                    value(fields.source, "Referral"),
                ],
                tags: tags(&["logistics", "key account"]),
                ..new_company("Baltic Freight")
            })
            .await?;

        let ilze = self
            .person(NewPerson {
                about: "Renegotiating the 2026 rates with Petra; private until the new \
                        contract is signed."
                    .to_owned(),
                industry: "Logistics".to_owned(),
                contact_status_id: lists.warm,
                contact_type_id: lists.supplier,
                currency: Some("EUR".to_owned()),
                share_type: ShareType::None,
                access_list: vec![people.petra],
                common_data: vec![
                    info(
                        InfoType::Email,
                        WORK,
                        "ilze.berzina@balticfreight.example",
                        true,
                    ),
                    info(InfoType::Phone, PHONE_DIRECT, "+371 6700 1234", true),
                    info(InfoType::Skype, WORK, "ilze.berzina.bf", true),
                    info(
                        InfoType::LinkedIn,
                        WORK,
                        "https://www.linkedin.com/in/ilze-berzina-example",
                        true,
                    ),
                ],
                addresses: vec![address(
                    ADDRESS_WORK,
                    "Eksporta iela 12",
                    "Riga",
                    "",
                    "LV-1045",
                    "Latvia",
                    true,
                )],
                custom_fields: vec![
                    value(fields.birthday, "1985-06-23"),
                    value(fields.source, "Referral"),
                ],
                tags: tags(&["logistics", "decision maker"]),
                ..new_person("Ilze", "Bērziņa", "Operations manager", Some(company))
            })
            .await?;

        let jonas = self
            .person(NewPerson {
                contact_type_id: lists.supplier,
                share_type: ShareType::Read,
                common_data: vec![
                    info(InfoType::Phone, PHONE_MOBILE, "+370 612 34567", true),
                    info(InfoType::Phone, PHONE_FAX, "+371 6700 1299", false),
                    info(
                        InfoType::Email,
                        WORK,
                        "jonas.petraitis@balticfreight.example",
                        true,
                    ),
                    info(
                        InfoType::Jabber,
                        WORK,
                        "jonas@chat.balticfreight.example",
                        true,
                    ),
                ],
                tags: tags(&["logistics"]),
                ..new_person("Jonas", "Petraitis", "Dispatcher", Some(company))
            })
            .await?;

        self.task(
            ilze,
            "Compare the 2026 rate card with Q4 volumes",
            Some(-5),
            false,
        )
        .await?;
        self.task(
            company,
            "Confirm the December shipping schedule",
            Some(5),
            false,
        )
        .await?;
        self.task(jonas, "Book a container Riga–Seattle", Some(-7), true)
            .await?;
        Ok(())
    }

    /// A design partner in London, shared read-write, with two people and a competitor's
    /// designer.
    async fn lumen(
        &mut self,
        fields: &Fields,
        lists: &Lists,
        people: &DemoUsers,
    ) -> anyhow::Result<()> {
        let company = self
            .company(NewCompany {
                about: "Designs our catalogues and the packaging of the own-brand range."
                    .to_owned(),
                industry: "Graphic design".to_owned(),
                contact_status_id: lists.cold,
                contact_type_id: lists.partner,
                currency: Some("GBP".to_owned()),
                common_data: vec![
                    info(InfoType::Phone, PHONE_WORK, "+44 20 7946 0321", true),
                    info(InfoType::Email, WORK, "hello@lumenstudio.example", true),
                    info(InfoType::Website, WORK, "https://lumenstudio.example", true),
                    info(InfoType::Twitter, WORK, "@lumenstudio_example", true),
                    info(
                        InfoType::Facebook,
                        WORK,
                        "https://www.facebook.com/lumenstudio.example",
                        true,
                    ),
                ],
                addresses: vec![address(
                    ADDRESS_OFFICE,
                    "14 Shoreditch High Street",
                    "London",
                    "",
                    "E1 6PG",
                    "United Kingdom",
                    true,
                )],
                custom_fields: vec![
                    value(fields.employees, "12"),
                    value(fields.source, "Website"),
                ],
                tags: tags(&["design", "partner"]),
                ..new_company("Lumen Studio")
            })
            .await?;

        let olivia = self
            .person(NewPerson {
                about: "Runs the catalogue project. Available Tuesday to Thursday.".to_owned(),
                industry: "Graphic design".to_owned(),
                contact_status_id: lists.warm,
                contact_type_id: lists.partner,
                currency: Some("GBP".to_owned()),
                common_data: vec![
                    info(
                        InfoType::Email,
                        WORK,
                        "olivia.hart@lumenstudio.example",
                        true,
                    ),
                    info(InfoType::Phone, PHONE_WORK, "+44 20 7946 0322", true),
                    info(InfoType::Website, HOME, "https://oliviahart.example", false),
                    info(
                        InfoType::LinkedIn,
                        WORK,
                        "https://www.linkedin.com/in/olivia-hart-example",
                        true,
                    ),
                ],
                custom_fields: vec![
                    value(fields.birthday, "1990-03-14"),
                    value(fields.source, "Website"),
                ],
                tags: tags(&["design", "partner", "decision maker"]),
                ..new_person("Olivia", "Hart", "Creative director", Some(company))
            })
            .await?;

        let tom = self
            .person(NewPerson {
                contact_type_id: lists.partner,
                access_list: vec![people.sam, people.petra],
                common_data: vec![
                    info(InfoType::Email, WORK, "tom.reid@lumenstudio.example", true),
                    info(InfoType::Phone, PHONE_MOBILE, "+44 7700 900123", true),
                    info(InfoType::Skype, WORK, "tom.reid.lumen", false),
                ],
                addresses: vec![address(
                    ADDRESS_HOME,
                    "3 Canal Walk",
                    "London",
                    "",
                    "N1 5SE",
                    "United Kingdom",
                    false,
                )],
                tags: tags(&["design"]),
                ..new_person("Tom", "Reid", "Project manager", Some(company))
            })
            .await?;

        // Left Lumen Studio for a competing agency: a competitor, no company, private to the
        // administrators.
        self.person(NewPerson {
            about: "Former art director at Lumen Studio, now at a competing agency.".to_owned(),
            industry: "Graphic design".to_owned(),
            contact_status_id: lists.cold,
            contact_type_id: lists.competitor,
            currency: Some("GBP".to_owned()),
            share_type: ShareType::None,
            common_data: vec![
                info(InfoType::Email, OTHER, "m.okafor@mail.example", true),
                info(
                    InfoType::Facebook,
                    HOME,
                    "https://www.facebook.com/m.okafor.example",
                    true,
                ),
            ],
            custom_fields: vec![value(fields.source, "Referral")],
            tags: tags(&["design"]),
            ..new_person("Martin", "Okafor", "Art director", None)
        })
        .await?;

        self.task(olivia, "Review the new catalogue layout", Some(10), false)
            .await?;
        self.task(tom, "Agree on the photo-shoot budget", None, false)
            .await?;
        self.task(company, "Pay the spring campaign invoice", Some(-30), true)
            .await?;
        Ok(())
    }
}

/// A company shared read-write with nothing but its name.
fn new_company(name: &str) -> NewCompany {
    NewCompany {
        company_name: name.to_owned(),
        about: String::new(),
        industry: String::new(),
        contact_status_id: None,
        contact_type_id: None,
        currency: None,
        share_type: ShareType::ReadWrite,
        access_list: Vec::new(),
        common_data: Vec::new(),
        addresses: Vec::new(),
        custom_fields: Vec::new(),
        tags: Vec::new(),
    }
}

/// A person (of a company, when `company_id` is given), shared read-write, with nothing but a
/// name and a job title.
fn new_person(first: &str, last: &str, job_title: &str, company_id: Option<i32>) -> NewPerson {
    NewPerson {
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        job_title: job_title.to_owned(),
        company_id,
        about: String::new(),
        industry: String::new(),
        contact_status_id: None,
        contact_type_id: None,
        currency: None,
        share_type: ShareType::ReadWrite,
        access_list: Vec::new(),
        common_data: Vec::new(),
        addresses: Vec::new(),
        custom_fields: Vec::new(),
        tags: Vec::new(),
    }
}

fn info(info_type: InfoType, category: i32, data: &str, is_primary: bool) -> NewContactInfo {
    NewContactInfo {
        info_type,
        category,
        data: data.to_owned(),
        is_primary,
    }
}

fn address(
    category: i32,
    street: &str,
    city: &str,
    state: &str,
    zip: &str,
    country: &str,
    is_primary: bool,
) -> NewAddress {
    NewAddress {
        street: street.to_owned(),
        city: city.to_owned(),
        state: state.to_owned(),
        zip: zip.to_owned(),
        country: country.to_owned(),
        category,
        is_primary,
    }
}

fn value(field_id: i32, value: &str) -> CustomFieldValue {
    CustomFieldValue {
        field_id,
        value: value.to_owned(),
    }
}

fn tags(titles: &[&str]) -> Vec<String> {
    titles.iter().map(|title| (*title).to_owned()).collect()
}
