//! PostgreSQL: `crm_delete_contacts` without aggregate nodes in its plans.
//!
//! Setting up a plan's aggregates (`ExecInitAgg`: each one builds its transition expressions
//! and looks up its functions) was an eighth of PostgreSQL's CPU per delete, and the function
//! as migration `m20261201_000007_delete_in_one_statement` made it sets up twelve of them on
//! every call: a `COUNT` for each of the contact's task counts and access entry, a `json_agg`
//! for each kind of child row kept in the trash, one for the response's child rows and one for
//! the IDs deleted. Each is now an `ARRAY(…)` subquery — `cardinality(ARRAY(…))` for a count,
//! `to_json(ARRAY(…))` for a list — which fills an array as it scans and sets up no aggregate;
//! an empty list is `[]` without a `coalesce`. Only the snapshot's list of contacts, which
//! needs the rows and the deletable IDs from one scan, keeps its aggregate. What the function
//! reads, locks, writes and answers is unchanged (the lists' JSON differs only in white space),
//! and so is its signature.
//!
//! Two fixes ride along:
//!
//! - Only the contacts the lock loop found and locked are read and deleted. Before, a contact
//!   the loop could not see yet — its restore not committed when the loop reached it — was
//!   read by the next statement (a new snapshot, after the restore committed) and deleted
//!   without its lock, so a task or a person added to it meanwhile was deleted with it but
//!   missing from the trash. Now such a contact counts as not found: the delete came first.
//! - The audit record's and the trash entry's time is when the delete holds its locks
//!   (`clock_timestamp()`), not when its request began (`p_now`, which only shifts the expiry
//!   by the same amount): a delete that waited for a restore of the same contact is recorded
//!   after it.
//!
//! Everything else is as migrations 000006 and 000007 describe.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `crm_delete_contacts`, answering as before:
/// `{"contacts": [contact rows], "children": [child rows], "deleted": [IDs]}`.
const CREATE: &str = r#"
CREATE OR REPLACE FUNCTION crm_delete_contacts(
    p_ids integer[],
    p_caller uuid,
    p_admin boolean,
    p_now timestamptz,
    p_expires timestamptz,
    p_read_write smallint,
    p_for_contact smallint,
    p_for_company smallint,
    p_for_person smallint,
    p_heading smallint,
    p_person_deleted text,
    p_company_deleted text,
    p_lock_wait_ms integer
) RETURNS json
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    v_ws constant text := E'\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
    v_contacts json;
    v_deletable integer[];
    v_answer json;
    v_id integer;
    v_locked integer[] := '{}';
    v_now timestamptz;
    v_expires timestamptz;
BEGIN
    -- One contact at a time, in ID order, each lock wait bounded by what is left of
    -- p_lock_wait_ms (lock_timeout bounds each wait, not their sum).
    FOR v_id IN SELECT DISTINCT unnest(p_ids) ORDER BY 1 LOOP
        IF p_lock_wait_ms IS NOT NULL THEN
            PERFORM set_config('lock_timeout', greatest(1, p_lock_wait_ms - floor(1000 * extract(
                epoch FROM clock_timestamp() - statement_timestamp()))::integer)::text || 'ms',
                true);
        END IF;
        PERFORM 1 FROM contacts WHERE id = v_id FOR UPDATE;
        IF FOUND THEN
            v_locked := v_locked || v_id;
        END IF;
    END LOOP;
    -- The delete's moment is when it holds its locks: after any write it waited for.
    v_now := clock_timestamp();
    v_expires := p_expires + (v_now - p_now);

    SELECT coalesce(json_agg(r), '[]'::json),
           coalesce(array_agg(r.id) FILTER (
               WHERE p_admin OR r.caller_listed > 0 OR r.share_type = p_read_write), '{}')
      INTO v_contacts, v_deletable
      FROM (
        SELECT c.id, c.is_company, c.first_name, c.last_name, c.company_name, c.about,
               c.industry, c.share_type, c.created_at, c.small_photo_url, c.medium_photo_url,
               u.id AS creator_id, u.display_name AS creator_name, u.title AS creator_title,
               u.avatar_small AS creator_avatar, u.profile_url AS creator_profile,
               s.id AS status_id, s.title AS status_title, s.description AS status_description,
               s.color AS status_color, s.sort_order AS status_sort_order,
               t.id AS type_id, t.title AS type_title, t.description AS type_description,
               t.color AS type_color, t.sort_order AS type_sort_order,
               cur.abbreviation AS currency_code, cur.title AS currency_title,
               cur.symbol AS currency_symbol, cur.culture_name AS currency_culture,
               cur.is_convertable AS currency_convertable, cur.is_basic AS currency_basic,
               cardinality(ARRAY(SELECT k.id FROM tasks k WHERE k.contact_id = c.id))
                   AS task_count,
               cardinality(ARRAY(SELECT k.id FROM tasks k
                  WHERE k.contact_id = c.id AND NOT k.is_closed
                    AND k.deadline IS NOT NULL AND k.deadline < v_now)) AS late_task_count,
               cardinality(ARRAY(SELECT 1 FROM contact_access a
                  WHERE a.contact_id = c.id AND a.user_id = p_caller)) AS caller_listed
          FROM contacts c
          JOIN users u ON u.id = c.created_by
          LEFT JOIN list_items s ON s.id = c.status_id
          LEFT JOIN list_items t ON t.id = c.type_id
          LEFT JOIN currencies cur ON cur.abbreviation = c.currency
         WHERE c.id = ANY(v_locked)
      ) r;

    IF cardinality(v_deletable) = 0 THEN
        RETURN json_build_object('contacts', v_contacts, 'children', '[]'::json,
                                 'deleted', '[]'::json);
    END IF;

    IF p_lock_wait_ms IS NOT NULL THEN
        -- What the locks took is spent: a row the delete cascades to gets the rest.
        PERFORM set_config('lock_timeout', greatest(1, p_lock_wait_ms - floor(1000 * extract(
            epoch FROM clock_timestamp() - statement_timestamp()))::integer)::text || 'ms', true);
    END IF;

    WITH children AS (
        SELECT 1 AS part, i.contact_id AS contact_id, i.id AS id, i.info_type AS kind,
               i.category AS category, i.data AS text1, i.street AS text2, i.city AS text3,
               i.state AS text4, i.zip AS text5, i.country AS text6, i.is_primary AS flag,
               CAST(NULL AS integer) AS position, CAST(NULL AS uuid) AS user_id
          FROM contact_infos i WHERE i.contact_id = ANY(v_deletable)
        UNION ALL
        SELECT 2, c.id, f.id, f.field_type, NULL, f.label, f.mask, v.value, NULL, NULL, NULL,
               NULL, f.position, NULL
          FROM contacts c
          JOIN custom_fields f ON f.entity_type IN (p_for_contact,
               CASE WHEN c.is_company THEN p_for_company ELSE p_for_person END)
          LEFT JOIN (SELECT * FROM custom_field_values WHERE contact_id = ANY(v_deletable)) v
                 ON v.field_id = f.id AND v.contact_id = c.id
         WHERE c.id = ANY(v_deletable) AND (v.contact_id IS NOT NULL OR f.field_type = p_heading)
        UNION ALL
        SELECT 3, ct.contact_id, g.id, NULL, NULL, g.title, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL
          FROM contact_tags ct JOIN tags g ON g.id = ct.tag_id
         WHERE ct.contact_id = ANY(v_deletable)
        UNION ALL
        SELECT 4, a.contact_id, NULL, NULL, NULL, u.display_name, u.title, u.avatar_small,
               u.profile_url, NULL, NULL, NULL, NULL, u.id
          FROM contact_access a JOIN users u ON u.id = a.user_id
         WHERE a.contact_id = ANY(v_deletable)
    ),
    kept AS (
        SELECT c.id, json_build_object(
                   'contact', to_json(c),
                   'infos', to_json(ARRAY(SELECT i FROM contact_infos i
                                       WHERE i.contact_id = c.id)),
                   'values', to_json(ARRAY(SELECT v FROM custom_field_values v
                                        WHERE v.contact_id = c.id)),
                   'tags', to_json(ARRAY(SELECT g.title FROM contact_tags ct
                                       JOIN tags g ON g.id = ct.tag_id
                                      WHERE ct.contact_id = c.id)),
                   'tasks', to_json(ARRAY(SELECT json_build_object(
                                             'id', k.id, 'contact_id', k.contact_id,
                                             'title', k.title,
                                             'deadline', crm_json_time(k.deadline),
                                             'is_closed', k.is_closed,
                                             'created_at', crm_json_time(k.created_at))
                                        FROM tasks k WHERE k.contact_id = c.id)),
                   'access', to_json(ARRAY(SELECT a.user_id FROM contact_access a
                                        WHERE a.contact_id = c.id)),
                   'people', to_json(ARRAY(SELECT p.id FROM contacts p
                                        WHERE c.is_company AND p.company_id = c.id))
               )::text AS payload
          FROM contacts c
         WHERE v_expires IS NOT NULL AND c.id = ANY(v_deletable)
    ),
    gone AS (
        DELETE FROM contacts WHERE id = ANY(v_deletable)
        RETURNING id, is_company,
                  CASE WHEN is_company THEN btrim(company_name, v_ws)
                       ELSE btrim(btrim(first_name, v_ws) || ' ' || btrim(last_name, v_ws), v_ws)
                  END AS display_name
    ),
    audit AS (
        INSERT INTO audit_events (occurred_at, user_id, action, contact_id, display_name)
        SELECT v_now, p_caller,
               CASE WHEN is_company THEN p_company_deleted ELSE p_person_deleted END,
               id, display_name
          FROM gone
    ),
    trash AS (
        INSERT INTO contact_trash (contact_id, display_name, is_company, deleted_by, deleted_at,
                                   expires_at, payload)
        SELECT g.id, g.display_name, g.is_company, p_caller, v_now, v_expires, k.payload
          FROM gone g JOIN kept k ON k.id = g.id
    )
    SELECT json_build_object('contacts', v_contacts,
                             'children', to_json(ARRAY(SELECT r FROM children r)),
                             'deleted', to_json(ARRAY(SELECT g.id FROM gone g)))
      INTO v_answer;

    RETURN v_answer;
END
$fn$

"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(CREATE).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            // The function as migration 000007 made it.
            db.execute_unprepared(super::m20261201_000007_delete_in_one_statement::CREATE)
                .await?;
        }
        Ok(())
    }
}
