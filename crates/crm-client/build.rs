//! Generates the client from the committed `openapi.yaml` with progenitor.

use std::{env, fs, path::PathBuf};

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TypeImpl};

const SPEC: &str = "../../openapi.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    if let Err(error) = generate() {
        // A build script reports failure by panicking; say clearly what went wrong.
        panic!("cannot generate the client from {SPEC}: {error}");
    }
}

fn generate() -> Result<(), Box<dyn std::error::Error>> {
    let text = fs::read_to_string(SPEC)?;
    // The document admits `null` beside a nullable reference as an alternative of its own;
    // progenitor types `{allOf: [X], nullable: true}` as `Option<X>`, so it gets that form.
    let mut document: serde_json::Value = yaml_serde::from_str(&text)?;
    oas_downgrade::implicit_nulls(&mut document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document)?;

    let mut settings = GenerationSettings::default();
    settings.with_interface(InterfaceStyle::Positional);
    // The integer enums are the shared model types, not typify's `struct X(i64)`; so is
    // `EntityType`, the `{entityType}` path parameter. Request bodies are the shared model types
    // too, plain structs rather than typify's newtypes for every length-limited string.
    for name in [
        "InfoType",
        "FieldType",
        "ShareType",
        "EntityType",
        "NewPerson",
        "NewCompany",
        "NewContactInfo",
        "NewAddress",
        "CustomFieldValue",
        "NewListItem",
        "NewCustomField",
        "NewTask",
        "BatchDelete",
    ] {
        settings.with_replacement(
            name,
            format!("crm_models::{name}"),
            [TypeImpl::Display].into_iter(),
        );
    }
    let tokens = Generator::new(&settings).generate_tokens(&spec)?;
    let file: syn::File = syn::parse2(tokens)?;
    let code = prettyplease::unparse(&file);

    let out = PathBuf::from(env::var("OUT_DIR")?).join("codegen.rs");
    fs::write(out, code)?;
    Ok(())
}
