//! The built-in default pictures: where they are served, and what they look like. A contact or
//! user without a picture of its own points at one of these (`routes::meta` serves them).

/// A person's small default picture.
pub const PERSON_SMALL: &str = "/images/person_40.svg";
/// A person's medium default picture.
pub const PERSON_MEDIUM: &str = "/images/person_82.svg";
/// A company's small default picture.
pub const COMPANY_SMALL: &str = "/images/company_40.svg";
/// A company's medium default picture.
pub const COMPANY_MEDIUM: &str = "/images/company_82.svg";
/// A user's default avatar.
pub const USER_AVATAR: &str = "/images/user_32.svg";

/// A contact's default pictures: (small, medium).
pub fn contact_defaults(is_company: bool) -> (&'static str, &'static str) {
    if is_company {
        (COMPANY_SMALL, COMPANY_MEDIUM)
    } else {
        (PERSON_SMALL, PERSON_MEDIUM)
    }
}

/// The SVG served at `path`, or `None` when `path` is no default picture.
pub fn svg_at(path: &str) -> Option<String> {
    let (size, shape) = match path {
        PERSON_SMALL => (40, PERSON),
        PERSON_MEDIUM => (82, PERSON),
        COMPANY_SMALL => (40, COMPANY),
        COMPANY_MEDIUM => (82, COMPANY),
        USER_AVATAR => (32, PERSON),
        _ => return None,
    };
    Some(svg(size, shape))
}

/// A round grey silhouette: a head and shoulders for people, a building for companies.
fn svg(size: u32, shape: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 40 40"><rect width="40" height="40" rx="6" fill="#e2e6ea"/>{shape}</svg>"##
    )
}

const PERSON: &str = r##"<circle cx="20" cy="15" r="7" fill="#a0aab4"/><path d="M6 36c1-8 7-12 14-12s13 4 14 12z" fill="#a0aab4"/>"##;
const COMPANY: &str = r##"<path d="M9 34V10h14v24zm14 0V18h8v16z" fill="#a0aab4"/><path d="M12 14h3v3h-3zm5 0h3v3h-3zm-5 6h3v3h-3zm5 0h3v3h-3zm-5 6h3v3h-3zm5 0h3v3h-3z" fill="#e2e6ea"/>"##;
