//! Reference data: contact statuses and types, custom-field definitions, currencies.

use crm_models::{
    Currency, CustomFieldDefinition, EntityType, FieldType, ListItem, MAX_NAME, MAX_TEXT,
    NewCustomField, NewListItem,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::IntoCondition,
};

use crate::{
    actor::Actor,
    db::{
        self,
        entities::{currency, custom_field, list_item},
    },
    error::ApiError,
    validate,
};

/// Which list of contact items: statuses or types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Contact statuses (Cold, Warm, Hot…).
    Status,
    /// Contact types (Client, Supplier…).
    Type,
}

impl ListKind {
    fn stored(self) -> i16 {
        match self {
            Self::Status => list_item::KIND_STATUS,
            Self::Type => list_item::KIND_TYPE,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Self::Status => "contact statuses",
            Self::Type => "contact types",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Status => "contact status",
            Self::Type => "contact type",
        }
    }
}

/// Only administrators may change reference data.
pub fn require_admin(caller: &Actor, what: &str) -> Result<(), ApiError> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only administrators may create {what}"
        )))
    }
}

/// The items of a list, by sort order.
pub async fn list_items(
    db: &DatabaseConnection,
    kind: ListKind,
) -> Result<Vec<ListItem>, ApiError> {
    Ok(list_item::Entity::find()
        .filter(list_item::Column::Kind.eq(kind.stored()))
        .order_by_asc(list_item::Column::SortOrder)
        .order_by_asc(list_item::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(ListItem::from)
        .collect())
}

/// Adds an item to a list (administrators only). A title already in the list (the same after
/// trimming and lower-casing, `list_item::title_key`) is a 409: the unique index on the list's
/// titles decides, so of concurrent creates of one title exactly one succeeds.
pub async fn add_list_item(
    db: &DatabaseConnection,
    caller: &Actor,
    kind: ListKind,
    new: NewListItem,
) -> Result<ListItem, ApiError> {
    require_admin(caller, kind.plural())?;
    validate::required("Title", &new.title, MAX_NAME)?;
    validate::optional("Description", &new.description, MAX_TEXT)?;
    validate::optional("Color", &new.color, MAX_NAME)?;
    let title = new.title.trim().to_owned();

    let (new, title) = (&new, &title);
    let row = db::write(db, |tx| async move {
        let sort_order = match new.sort_order {
            Some(order) => order,
            None => {
                let after = after_last::<list_item::Entity>(
                    &tx,
                    list_item::Column::Kind.eq(kind.stored()),
                    list_item::Column::SortOrder,
                )
                .await?;
                match after {
                    Some(order) => order,
                    // No place after the last item. A title the list already has is what is
                    // wrong first: no position would fix it (the table is locked on
                    // PostgreSQL, so the answer holds until commit).
                    None => {
                        let taken = list_item::Entity::find()
                            .filter(list_item::Column::Kind.eq(kind.stored()))
                            .filter(list_item::Column::TitleKey.eq(list_item::title_key(title)))
                            .count(&*tx)
                            .await?;
                        return Err(if taken > 0 {
                            ApiError::Conflict(String::new())
                        } else {
                            no_room("SortOrder", kind.noun())
                        });
                    }
                }
            }
        };
        list_item::ActiveModel {
            kind: Set(kind.stored()),
            title_key: Set(list_item::title_key(title)),
            title: Set(title.clone()),
            description: Set(new.description.clone()),
            color: Set(new.color.clone()),
            sort_order: Set(sort_order),
            ..Default::default()
        }
        .insert(&*tx)
        .await
        .map_err(ApiError::from)
    })
    .await
    .map_err(|error| match error {
        ApiError::Conflict(_) => ApiError::Conflict(format!(
            "Title: a {} titled {} already exists (titles are unique in a list, ignoring \
             case and surrounding spaces)",
            kind.noun(),
            crm_models::quoted(title)
        )),
        other => other,
    })?;
    Ok(row.into())
}

/// One past the largest `column` among the rows of `E` that `filter` selects; 0 when there are
/// none. Where a new item goes when its request gives no position; `None` when the last is at
/// `i32::MAX` and there is no such place (the request then gets [`no_room`]'s 422 asking for a
/// position, rather than a second item at the same one).
///
/// On PostgreSQL the table is locked against other writers first (until `tx` ends), so that two
/// items created at once do not both read the same largest value under READ COMMITTED: the
/// second reads after the first has committed. SQLite's write transaction already excludes
/// every other writer.
async fn after_last<E: EntityTrait>(
    tx: &DatabaseTransaction,
    filter: impl IntoCondition,
    column: E::Column,
) -> Result<Option<i32>, ApiError> {
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared(&format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
            E::default().table_name()
        ))
        .await?;
    }
    let last = E::find()
        .filter(filter)
        .select_only()
        .column_as(column.max(), "max")
        .into_tuple::<Option<i32>>()
        .one(tx)
        .await?
        .flatten();
    Ok(last.map_or(Some(0), |max| max.checked_add(1)))
}

/// The 422 of an item without a position (`field`) in a list (of items called `noun`) whose last
/// item is at `i32::MAX`.
fn no_room(field: &str, noun: &str) -> ApiError {
    ApiError::unprocessable_field(
        field,
        format!(
            "the last {noun} of the list is at {}, so none can go after it: give a {field}",
            i32::MAX
        ),
    )
}

fn definition(model: custom_field::Model) -> Result<CustomFieldDefinition, ApiError> {
    Ok(CustomFieldDefinition {
        id: model.id,
        label: model.label,
        field_type: FieldType::try_from(i64::from(model.field_type))
            .map_err(|error| ApiError::Internal(anyhow::anyhow!("corrupt row: {error}")))?,
        mask: model.mask,
        position: model.position,
        entity_type: custom_field::entity_type(model.entity_type)
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "corrupt row: custom field {} has entity type {}",
                    model.id,
                    model.entity_type
                ))
            })?
            .to_string(),
    })
}

/// The custom fields defined for exactly this entity type, by position.
pub async fn custom_fields(
    db: &DatabaseConnection,
    entity: EntityType,
) -> Result<Vec<CustomFieldDefinition>, ApiError> {
    custom_field::Entity::find()
        .filter(custom_field::Column::EntityType.eq(custom_field::stored(entity)))
        .order_by_asc(custom_field::Column::Position)
        .order_by_asc(custom_field::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(definition)
        .collect()
}

/// Defines a custom field (administrators only).
pub async fn add_custom_field(
    db: &DatabaseConnection,
    caller: &Actor,
    entity: EntityType,
    new: NewCustomField,
) -> Result<CustomFieldDefinition, ApiError> {
    let new = &new;
    db::write(db, |tx| async move {
        add_custom_field_in(&tx, caller, entity, new).await
    })
    .await
}

/// [`add_custom_field`] inside a write transaction the caller holds.
pub async fn add_custom_field_in(
    tx: &DatabaseTransaction,
    caller: &Actor,
    entity: EntityType,
    new: &NewCustomField,
) -> Result<CustomFieldDefinition, ApiError> {
    require_admin(caller, "custom fields")?;
    validate::required("Label", &new.label, MAX_NAME)?;
    validate::optional("Mask", &new.mask, MAX_TEXT)?;
    let position = match new.position {
        Some(position) => position,
        None => after_last::<custom_field::Entity>(
            tx,
            custom_field::Column::EntityType.eq(custom_field::stored(entity)),
            custom_field::Column::Position,
        )
        .await?
        .ok_or_else(|| no_room("Position", "custom field"))?,
    };
    let row = custom_field::ActiveModel {
        entity_type: Set(custom_field::stored(entity)),
        label: Set(new.label.trim().to_owned()),
        field_type: Set(new.field_type.value() as i16),
        mask: Set(new.mask.clone()),
        position: Set(position),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    definition(row)
}

/// Every currency, by code.
pub async fn currencies(db: &DatabaseConnection) -> Result<Vec<Currency>, ApiError> {
    Ok(currency::Entity::find()
        .order_by_asc(currency::Column::Abbreviation)
        .all(db)
        .await?
        .into_iter()
        .map(|c| Currency {
            title: c.title,
            symbol: c.symbol,
            abbreviation: c.abbreviation,
            culture_name: c.culture_name,
            is_convertable: c.is_convertable,
            is_basic: c.is_basic,
        })
        .collect())
}
