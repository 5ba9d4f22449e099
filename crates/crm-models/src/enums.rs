//! The enums of the API. The integer enums travel as integers (`serde_repr`) and are documented
//! with their names (`x-enum-varnames` and a description listing `value - Name`); `EntityType`
//! travels as a lowercase name.

use serde_repr::{Deserialize_repr, Serialize_repr};
use utoipa::ToSchema;

/// An integer that names no variant of one of the API's enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The enum's schema name, e.g. `InfoType`.
    pub enum_name: &'static str,
    /// The value that was given.
    pub value: i64,
}

impl std::fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a valid {}", self.value, self.enum_name)
    }
}

impl std::error::Error for UnknownVariant {}

/// Declares an `i32`-backed enum with its variant names, conversions and display name.
macro_rules! int_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }
    ) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize_repr, Deserialize_repr, ToSchema)]
        $(#[$meta])*
        #[repr(i32)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value),+
        }

        impl $name {
            /// Every variant, in value order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The variant names, in value order (the spec's `x-enum-varnames`).
            pub const NAMES: &'static [&'static str] = &[$(stringify!($variant)),+];

            /// The variant's name, e.g. `"Phone"`.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant)),+
                }
            }

            /// The variant's integer value.
            pub fn value(self) -> i32 {
                self as i32
            }
        }

        impl TryFrom<i64> for $name {
            type Error = UnknownVariant;

            fn try_from(value: i64) -> Result<Self, Self::Error> {
                match value {
                    $($value => Ok($name::$variant),)+
                    _ => Err(UnknownVariant { enum_name: stringify!($name), value }),
                }
            }
        }

        impl TryFrom<i32> for $name {
            type Error = UnknownVariant;

            fn try_from(value: i32) -> Result<Self, Self::Error> {
                Self::try_from(i64::from(value))
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> i32 {
                value as i32
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

int_enum! {
    /// The kind of a contact info.
    ///
    /// [0 - Phone, 1 - Email, 2 - Website, 3 - Skype, 4 - Twitter, 5 - LinkedIn, 6 - Facebook,
    /// 7 - Address, 8 - LiveJournal, 9 - MySpace, 10 - GMail, 11 - Blogger, 12 - Yahoo, 13 - MSN,
    /// 14 - ICQ, 15 - Jabber, 16 - AIM, 17 - VK]
    #[schema(example = 1)]
    InfoType {
        Phone = 0,
        Email = 1,
        Website = 2,
        Skype = 3,
        Twitter = 4,
        LinkedIn = 5,
        Facebook = 6,
        Address = 7,
        LiveJournal = 8,
        MySpace = 9,
        GMail = 10,
        Blogger = 11,
        Yahoo = 12,
        MSN = 13,
        ICQ = 14,
        Jabber = 15,
        AIM = 16,
        VK = 17,
    }
}

int_enum! {
    /// The kind of a custom field.
    ///
    /// [0 - TextField, 1 - TextArea, 2 - SelectBox, 3 - CheckBox, 4 - Heading, 5 - Date]
    #[schema(example = 0)]
    FieldType {
        TextField = 0,
        TextArea = 1,
        SelectBox = 2,
        CheckBox = 3,
        Heading = 4,
        Date = 5,
    }
}

int_enum! {
    /// How a contact is shared with the portal's users.
    ///
    /// [0 - None, 1 - ReadWrite, 2 - Read]
    #[schema(example = 1)]
    ShareType {
        None = 0,
        ReadWrite = 1,
        Read = 2,
    }
}

impl Default for ShareType {
    /// New contacts are shared read-write unless said otherwise.
    fn default() -> Self {
        ShareType::ReadWrite
    }
}

/// The kind of contact a custom field is defined for, as the `{entityType}` path segment names
/// it: `contact` (persons and companies alike), `person` or `company`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[schema(example = "person")]
pub enum EntityType {
    /// Every contact: persons and companies alike.
    Contact,
    /// Persons only.
    Person,
    /// Companies only.
    Company,
}

impl EntityType {
    /// Every variant.
    pub const ALL: &'static [EntityType] =
        &[EntityType::Contact, EntityType::Person, EntityType::Company];

    /// The name as it appears in paths and bodies: `contact`, `person` or `company`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Contact => "contact",
            EntityType::Person => "person",
            EntityType::Company => "company",
        }
    }
}

impl std::fmt::Display for EntityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntityType {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        EntityType::ALL
            .iter()
            .copied()
            .find(|entity| entity.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "{} is not one of contact, person, company",
                    crate::requests::quoted(raw)
                )
            })
    }
}

/// The largest `Category` of any kind of info (phones and addresses have six categories).
pub const MAX_CATEGORY: i32 = 5;

impl InfoType {
    /// The name of a category of this kind of info (`Category` → `CategoryName`), or `None` when
    /// the category does not exist for this kind.
    ///
    /// Phones: 0 Home, 1 Work, 2 Mobile, 3 Fax, 4 Direct, 5 Other. Addresses: 0 Home, 1 Postal,
    /// 2 Office, 3 Billing, 4 Other, 5 Work. Every other kind: 0 Home, 1 Work, 2 Other.
    pub fn category_name(self, category: i32) -> Option<&'static str> {
        let names = self.category_names();
        usize::try_from(category)
            .ok()
            .and_then(|i| names.get(i).copied())
    }

    /// The category names of this kind of info, indexed by category.
    pub fn category_names(self) -> &'static [&'static str] {
        match self {
            InfoType::Phone => &["Home", "Work", "Mobile", "Fax", "Direct", "Other"],
            InfoType::Address => &["Home", "Postal", "Office", "Billing", "Other", "Work"],
            _ => &["Home", "Work", "Other"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_travel_as_integers() {
        assert_eq!(
            serde_json::to_string(&InfoType::VK).ok().as_deref(),
            Some("17")
        );
        assert_eq!(
            serde_json::from_str::<FieldType>("4").ok(),
            Some(FieldType::Heading)
        );
        assert!(serde_json::from_str::<ShareType>("3").is_err());
        assert!(serde_json::from_str::<ShareType>("\"Read\"").is_err());
    }

    #[test]
    fn entity_types_travel_as_lowercase_names() {
        for entity in EntityType::ALL {
            let json = serde_json::to_string(entity).unwrap_or_default();
            assert_eq!(json, format!("\"{entity}\""));
            assert_eq!(entity.as_str().parse::<EntityType>(), Ok(*entity));
        }
        assert!("deal".parse::<EntityType>().is_err());
        assert!("Person".parse::<EntityType>().is_err());
    }

    #[test]
    fn max_category_is_the_largest_category() {
        let largest = InfoType::ALL
            .iter()
            .map(|t| t.category_names().len() as i32 - 1)
            .max();
        assert_eq!(largest, Some(MAX_CATEGORY));
    }

    #[test]
    fn names_follow_values() {
        assert_eq!(InfoType::NAMES.len(), 18);
        for (i, t) in InfoType::ALL.iter().enumerate() {
            assert_eq!(t.value() as usize, i);
            assert_eq!(t.name(), InfoType::NAMES[i]);
        }
        assert_eq!(ShareType::NAMES, &["None", "ReadWrite", "Read"]);
        assert_eq!(
            InfoType::try_from(18_i64),
            Err(UnknownVariant {
                enum_name: "InfoType",
                value: 18
            })
        );
    }

    #[test]
    fn category_names_depend_on_the_kind() {
        assert_eq!(InfoType::Phone.category_name(2), Some("Mobile"));
        assert_eq!(InfoType::Address.category_name(1), Some("Postal"));
        assert_eq!(InfoType::Email.category_name(2), Some("Other"));
        assert_eq!(InfoType::Email.category_name(3), None);
        assert_eq!(InfoType::Phone.category_name(-1), None);
    }
}
