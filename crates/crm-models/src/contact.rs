//! The `Contact` object returned by the contact endpoints, and the objects nested in it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{FieldType, InfoType, ShareType};

/// A CRM contact: a person or a company, with every nested collection filled.
///
/// The delete endpoint returns the contact as it was just before it was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Contact {
    /// Postal addresses (contact infos of type Address), structured.
    pub addresses: Vec<Address>,
    /// The portal user who created the contact.
    pub create_by: Employee,
    /// When the contact was created (RFC 3339).
    #[schema(example = "2026-03-01T09:30:00Z")]
    pub created: DateTime<Utc>,
    /// Free-text background information; `""` when never set.
    #[schema(example = "Met at the Berlin trade fair.")]
    pub about: String,
    /// The industry the contact works in; `""` when never set.
    #[schema(example = "Logistics")]
    pub industry: String,
    /// The contact's status (e.g. Cold, Warm, Hot), or `null` when unset.
    #[schema(required = true)]
    pub contact_status: Option<ListItem>,
    /// The contact's type (e.g. Client, Supplier, Partner, Competitor), or `null` when unset.
    #[schema(required = true)]
    pub contact_type: Option<ListItem>,
    /// Every contact info that is not an address (phones, emails, websites, social profiles…),
    /// ordered by `InfoType`, then `ID`.
    pub common_data: Vec<ContactInfo>,
    /// Custom fields defined for this kind of contact that have a value on it, and every heading
    /// field; ordered by `Position`, then `ID`.
    pub custom_fields: Vec<CustomField>,
    /// Tag titles, sorted.
    #[schema(example = json!(["partner", "vip"]))]
    pub tags: Vec<String>,
    /// Number of tasks linked to the contact, open or closed.
    #[schema(example = 2)]
    pub task_count: i32,
    /// Whether some open task of the contact is past its deadline.
    pub have_late_tasks: bool,
    /// URL of the contact's small photo (or of the built-in default picture).
    #[schema(example = "/images/person_40.svg")]
    pub small_foto_url: String,
    /// URL of the contact's medium photo (or of the built-in default picture).
    #[schema(example = "/images/person_82.svg")]
    pub medium_foto_url: String,
    /// A company's name, or a person's first and last name.
    #[schema(example = "Jane Doe")]
    pub display_name: String,
    /// `true` for a company, `false` for a person.
    pub is_company: bool,
    /// The users the contact was explicitly shared with, ordered by user.
    pub access_list: Vec<Employee>,
    /// `true` when `ShareType` is None: only admins and the access list may see the contact.
    pub is_private: bool,
    /// `true` when `ShareType` is ReadWrite or Read.
    pub is_shared: bool,
    /// How the contact is shared with the portal's users.
    pub share_type: ShareType,
    /// The contact's currency, or `null` when it has none.
    #[schema(required = true)]
    pub currency: Option<Currency>,
    /// Whether the caller may edit the contact.
    pub can_edit: bool,
    /// Whether the caller may delete the contact.
    pub can_delete: bool,
    /// The contact's ID.
    #[serde(rename = "ID")]
    #[schema(example = 42, format = Int32)]
    pub id: i32,
}

/// A postal address of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    /// Street and house number.
    #[schema(example = "12 Harbour Road")]
    pub street: String,
    /// City.
    #[schema(example = "Riga")]
    pub city: String,
    /// State or region.
    #[schema(example = "")]
    pub state: String,
    /// Postal code.
    #[schema(example = "LV-1010")]
    pub zip: String,
    /// Country.
    #[schema(example = "Latvia")]
    pub country: String,
    /// Address category: 0 Home, 1 Postal, 2 Office, 3 Billing, 4 Other, 5 Work.
    #[schema(example = 2, format = Int32)]
    pub category: i32,
    /// The category's name.
    #[schema(example = "Office")]
    pub category_name: String,
    /// Whether this is the contact's primary address.
    pub is_primary: bool,
}

/// A portal user, as shown in `CreateBy` and `AccessList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Employee {
    /// The user's ID.
    pub id: Uuid,
    /// The user's display name.
    #[schema(example = "Administrator")]
    pub display_name: String,
    /// The user's job title.
    #[schema(example = "Sales manager")]
    pub title: String,
    /// URL of the user's small avatar.
    #[schema(example = "/images/user_32.svg")]
    pub avatar_small: String,
    /// URL of the user's profile page; `""` when the portal has none.
    #[schema(example = "https://people.example.com/administrator")]
    pub profile_url: String,
}

/// An item of a contact list: a contact status or a contact type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ListItem {
    /// The item's title.
    #[schema(example = "Warm")]
    pub title: String,
    /// The item's description.
    #[schema(example = "")]
    pub description: String,
    /// The item's colour, as a CSS hex colour.
    #[schema(example = "#ffd267")]
    pub color: String,
    /// The item's position in its list.
    #[schema(example = 1, format = Int32)]
    pub sort_order: i32,
    /// The item's ID.
    #[serde(rename = "ID")]
    #[schema(example = 2, format = Int32)]
    pub id: i32,
}

/// A contact info that is not an address: a phone, an email, a website, a social profile…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ContactInfo {
    /// The kind of info.
    pub info_type: InfoType,
    /// The info's category: for phones 0 Home, 1 Work, 2 Mobile, 3 Fax, 4 Direct, 5 Other; for
    /// every other kind 0 Home, 1 Work, 2 Other.
    #[schema(example = 1, format = Int32)]
    pub category: i32,
    /// The value: a phone number, an address, a user name…
    #[schema(example = "jane.doe@example.com")]
    pub data: String,
    /// The category's name.
    #[schema(example = "Work")]
    pub category_name: String,
    /// Whether this is the contact's primary info of its kind.
    pub is_primary: bool,
    /// The info's ID.
    #[serde(rename = "ID")]
    #[schema(example = 7, format = Int32)]
    pub id: i32,
}

/// A custom field of a contact, with the contact's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CustomField {
    /// The ID of the contact the value belongs to.
    #[schema(example = 42, format = Int32)]
    pub entity_id: i32,
    /// The field's label.
    #[schema(example = "Customer since")]
    pub label: String,
    /// The contact's value of the field; `""` for a heading.
    #[schema(example = "2019-05-01")]
    pub field_value: String,
    /// The kind of field.
    pub field_type: FieldType,
    /// The field's position in the form.
    #[schema(example = 0, format = Int32)]
    pub position: i32,
    /// The field's mask (e.g. the options of a select box), as ONLYOFFICE stores it.
    #[schema(example = "")]
    pub mask: String,
    /// The field's ID.
    #[serde(rename = "ID")]
    #[schema(example = 3, format = Int32)]
    pub id: i32,
}

/// A currency (ISO 4217).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Currency {
    /// The currency's name.
    #[schema(example = "Euro")]
    pub title: String,
    /// The currency's symbol.
    #[schema(example = "€")]
    pub symbol: String,
    /// The ISO 4217 code.
    #[schema(example = "EUR")]
    pub abbreviation: String,
    /// The culture the currency is formatted in.
    #[schema(example = "fr-FR")]
    pub culture_name: String,
    /// Whether exchange rates are available for the currency.
    pub is_convertable: bool,
    /// Whether the currency is one of the portal's basic currencies.
    pub is_basic: bool,
}
