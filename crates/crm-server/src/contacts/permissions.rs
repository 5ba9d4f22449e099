//! The permission rule, and what a caller may do with a stored contact.

use crm_models::ShareType;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, FromQueryResult};

use super::snapshot::{statement, stored_enum};
use crate::{actor::Actor, error::ApiError};

/// What the caller may do with a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// May read the contact.
    pub read: bool,
    /// May edit the contact.
    pub edit: bool,
    /// May delete the contact.
    pub delete: bool,
}

impl Permissions {
    /// The rule: admins may do everything; a contact shared read-write may be edited and deleted
    /// by anyone, one shared read-only may be read by anyone; a user on the contact's access list
    /// may do everything. Being the creator does not count.
    pub fn of(is_admin: bool, share_type: ShareType, on_access_list: bool) -> Self {
        let full = is_admin || on_access_list;
        Self {
            read: full || share_type != ShareType::None,
            edit: full || share_type == ShareType::ReadWrite,
            delete: full || share_type == ShareType::ReadWrite,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct AccessRow {
    share_type: i16,
    caller_listed: i64,
}

/// What `caller` may do with contact `id`, or `None` when it does not exist.
///
/// Inside a transaction that is about to add a row referring to the contact: on PostgreSQL the
/// contact's row stays locked against a delete (`FOR KEY SHARE`) until the transaction ends, so
/// a concurrent delete either came first (`None`) or waits for this transaction. On SQLite the
/// write transaction already excludes every other writer.
pub async fn permissions(
    tx: &DatabaseTransaction,
    id: i32,
    caller: &Actor,
) -> Result<Option<Permissions>, ApiError> {
    let backend = tx.get_database_backend();
    let sql = "SELECT c.share_type, (SELECT COUNT(*) FROM contact_access a \
               WHERE a.contact_id = c.id AND a.user_id = $2) AS caller_listed \
               FROM contacts c WHERE c.id = $1";
    let sql = match backend {
        DbBackend::Postgres => format!("{sql} FOR KEY SHARE OF c"),
        _ => sql.to_owned(),
    };
    let row =
        AccessRow::find_by_statement(statement(backend, &sql, vec![id.into(), caller.id.into()]))
            .one(tx)
            .await?;
    row.map(|row| {
        let share: ShareType = stored_enum(row.share_type)?;
        Ok(Permissions::of(
            caller.is_admin,
            share,
            row.caller_listed > 0,
        ))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_rule() {
        use ShareType::*;
        for share in [None, ReadWrite, Read] {
            assert!(Permissions::of(true, share, false).delete, "admin");
            assert!(Permissions::of(false, share, true).delete, "listed");
        }
        assert!(Permissions::of(false, ReadWrite, false).delete);
        assert!(!Permissions::of(false, Read, false).delete);
        assert!(Permissions::of(false, Read, false).read);
        assert!(!Permissions::of(false, None, false).read);
        assert!(!Permissions::of(false, None, false).edit);
    }
}
