//! Reference data every portal starts with: the default contact statuses and types, and the ISO
//! 4217 currencies.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `list_items.kind` of statuses and types (see `crate::db::entities::list_item`).
const KIND_STATUS: i16 = 1;
const KIND_TYPE: i16 = 2;

/// Default contact statuses: (title, colour).
const STATUSES: [(&str, &str); 3] = [("Cold", "#8ec2e8"), ("Warm", "#ffd267"), ("Hot", "#f17d7d")];

/// Default contact types.
const TYPES: [&str; 4] = ["Client", "Supplier", "Partner", "Competitor"];

/// (abbreviation, title, symbol, culture name, convertible, basic)
const CURRENCIES: &[(&str, &str, &str, &str, bool, bool)] = &[
    ("AED", "UAE Dirham", "د.إ", "ar-AE", true, false),
    ("ARS", "Argentine Peso", "$", "es-AR", true, false),
    ("AUD", "Australian Dollar", "$", "en-AU", true, false),
    ("BGN", "Bulgarian Lev", "лв", "bg-BG", true, false),
    ("BRL", "Brazilian Real", "R$", "pt-BR", true, false),
    ("CAD", "Canadian Dollar", "$", "en-CA", true, false),
    ("CHF", "Swiss Franc", "CHF", "de-CH", true, true),
    ("CLP", "Chilean Peso", "$", "es-CL", true, false),
    ("CNY", "Chinese Yuan", "¥", "zh-CN", true, true),
    ("CZK", "Czech Koruna", "Kč", "cs-CZ", true, false),
    ("DKK", "Danish Krone", "kr", "da-DK", true, false),
    ("EUR", "Euro", "€", "fr-FR", true, true),
    ("GBP", "Pound Sterling", "£", "en-GB", true, true),
    ("HKD", "Hong Kong Dollar", "$", "zh-HK", true, false),
    ("HUF", "Hungarian Forint", "Ft", "hu-HU", true, false),
    ("IDR", "Indonesian Rupiah", "Rp", "id-ID", true, false),
    ("ILS", "Israeli New Shekel", "₪", "he-IL", true, false),
    ("INR", "Indian Rupee", "₹", "hi-IN", true, false),
    ("JPY", "Japanese Yen", "¥", "ja-JP", true, true),
    ("KRW", "South Korean Won", "₩", "ko-KR", true, false),
    ("KZT", "Kazakhstani Tenge", "₸", "kk-KZ", true, false),
    ("MXN", "Mexican Peso", "$", "es-MX", true, false),
    ("NOK", "Norwegian Krone", "kr", "nb-NO", true, false),
    ("NZD", "New Zealand Dollar", "$", "en-NZ", true, false),
    ("PLN", "Polish Zloty", "zł", "pl-PL", true, false),
    ("RON", "Romanian Leu", "lei", "ro-RO", true, false),
    ("RUB", "Russian Ruble", "₽", "ru-RU", true, true),
    ("SEK", "Swedish Krona", "kr", "sv-SE", true, false),
    ("SGD", "Singapore Dollar", "$", "en-SG", true, false),
    ("THB", "Thai Baht", "฿", "th-TH", true, false),
    ("TRY", "Turkish Lira", "₺", "tr-TR", true, false),
    ("UAH", "Ukrainian Hryvnia", "₴", "uk-UA", true, false),
    ("USD", "US Dollar", "$", "en-US", true, true),
    ("ZAR", "South African Rand", "R", "en-ZA", true, false),
];

#[derive(DeriveIden)]
enum ListItems {
    Table,
    Kind,
    Title,
    Description,
    Color,
    SortOrder,
}

#[derive(DeriveIden)]
enum Currencies {
    Table,
    Abbreviation,
    Title,
    Symbol,
    CultureName,
    IsConvertable,
    IsBasic,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut items = Query::insert();
        items.into_table(ListItems::Table).columns([
            ListItems::Kind,
            ListItems::Title,
            ListItems::Description,
            ListItems::Color,
            ListItems::SortOrder,
        ]);
        for (order, (title, color)) in (0_i32..).zip(STATUSES) {
            items.values_panic([
                KIND_STATUS.into(),
                title.into(),
                "".into(),
                color.into(),
                order.into(),
            ]);
        }
        for (order, title) in (0_i32..).zip(TYPES) {
            items.values_panic([
                KIND_TYPE.into(),
                title.into(),
                "".into(),
                "".into(),
                order.into(),
            ]);
        }
        manager.exec_stmt(items).await?;

        let mut currencies = Query::insert();
        currencies.into_table(Currencies::Table).columns([
            Currencies::Abbreviation,
            Currencies::Title,
            Currencies::Symbol,
            Currencies::CultureName,
            Currencies::IsConvertable,
            Currencies::IsBasic,
        ]);
        for &(abbreviation, title, symbol, culture, convertable, basic) in CURRENCIES {
            currencies.values_panic([
                abbreviation.into(),
                title.into(),
                symbol.into(),
                culture.into(),
                convertable.into(),
                basic.into(),
            ]);
        }
        manager.exec_stmt(currencies).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table(Currencies::Table).take())
            .await?;
        manager
            .exec_stmt(Query::delete().from_table(ListItems::Table).take())
            .await?;
        Ok(())
    }
}
