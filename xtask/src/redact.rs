//! Redacting `Debug` for generated types that carry secrets.
//!
//! progenitor derives `Debug` on every type, so a logged login form would print its password and
//! a logged token envelope its tokens. The spec marks each secret with `format: password` (on a
//! property of a schema under `components/schemas`, or on a parameter's schema); the xtask then
//! drops `Debug` from the derive of every generated type holding one (the type itself, its
//! `types::builder` struct and any constrained newtype holding the value; the operation builder
//! for a parameter) and emits an `impl Debug` that prints every other field and `"<redacted>"`
//! for the secret ones. Operation builders holding a body print the body's own, redacting,
//! `Debug`.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToPascalCase, ToSnakeCase};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;
use syn::punctuated::Punctuated;

use crate::spec::Spec;

/// What the spec marks secret, by generated type.
#[derive(Debug, Default)]
pub struct Secrets {
    /// A type in `types` (and its builder in `types::builder`) -> the JSON names of its secret
    /// properties.
    types: BTreeMap<String, BTreeSet<String>>,
    /// An operation builder in `builder` -> the field names of its secret parameters.
    operations: BTreeMap<String, BTreeSet<String>>,
}

/// Whether a schema (after `$ref`) is marked secret.
pub fn is_secret(spec: &Spec, schema: &Value) -> bool {
    spec.resolve(schema).get("format").and_then(Value::as_str) == Some("password")
}

/// Reads the marks from the spec.
pub fn collect(spec: &Spec) -> Secrets {
    let mut secrets = Secrets::default();
    if let Some(schemas) = spec
        .doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            let marked: BTreeSet<String> = schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(_, prop)| is_secret(spec, prop))
                .map(|(prop, _)| prop.clone())
                .collect();
            if !marked.is_empty() {
                secrets.types.insert(name.to_pascal_case(), marked);
            }
        }
    }
    for (path, _, op) in spec.operations() {
        let Some(id) = op.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let marked: BTreeSet<String> = spec
            .raw_parameters(path, op)
            .map(|p| spec.resolve(p))
            .filter(|p| p.get("schema").is_some_and(|s| is_secret(spec, s)))
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .map(|name| name.to_snake_case())
            .collect();
        if !marked.is_empty() {
            secrets.operations.insert(id.to_pascal_case(), marked);
        }
    }
    secrets
}

/// Replaces the derived `Debug` of every type holding a secret with a redacting one. Returns
/// what could not be found in the generated code (a mark the xtask cannot honour must stop
/// generation rather than leak).
pub fn apply(file: &mut syn::File, secrets: &Secrets) -> Result<(), Vec<String>> {
    let mut missing = Vec::new();
    let mut found_types = BTreeSet::new();
    let mut found_ops = BTreeSet::new();
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        let Some((_, items)) = m.content.as_mut() else {
            continue;
        };
        if m.ident == "types" {
            // Newtypes that hold a secret value (a constrained string property becomes one).
            let mut newtypes = BTreeSet::new();
            let mut builder_fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let mut added = Vec::new();
            for inner in items.iter_mut() {
                let syn::Item::Struct(s) = inner else {
                    continue;
                };
                let Some(marked) = secrets.types.get(&s.ident.to_string()) else {
                    continue;
                };
                found_types.insert(s.ident.to_string());
                let mut secret_fields = BTreeSet::new();
                for field in &s.fields {
                    let Some(ident) = &field.ident else { continue };
                    if marked.contains(&json_name(field)) {
                        secret_fields.insert(ident.to_string());
                        if let Some(inner_ty) = local_type(&field.ty) {
                            newtypes.insert(inner_ty);
                        }
                    }
                }
                for prop in marked {
                    if !s.fields.iter().any(|f| &json_name(f) == prop) {
                        missing.push(format!(
                            "property `{prop}` of schema type `{}` is marked secret but the generated type has no such field",
                            s.ident
                        ));
                    }
                }
                builder_fields.insert(s.ident.to_string(), secret_fields.clone());
                added.push(redact_struct(s, &secret_fields));
            }
            for inner in items.iter_mut() {
                if let syn::Item::Struct(s) = inner
                    && newtypes.contains(&s.ident.to_string())
                    && matches!(s.fields, syn::Fields::Unnamed(_))
                {
                    added.push(redact_struct(s, &BTreeSet::from(["0".to_owned()])));
                }
            }
            for inner in items.iter_mut() {
                let syn::Item::Mod(b) = inner else { continue };
                if b.ident != "builder" {
                    continue;
                }
                let Some((_, builders)) = b.content.as_mut() else {
                    continue;
                };
                let mut built = Vec::new();
                for bi in builders.iter_mut() {
                    if let syn::Item::Struct(s) = bi
                        && let Some(fields) = builder_fields.get(&s.ident.to_string())
                    {
                        built.push(redact_struct(s, fields));
                    }
                }
                builders.extend(built);
            }
            items.extend(added);
        } else if m.ident == "builder" {
            let mut added = Vec::new();
            for inner in items.iter_mut() {
                if let syn::Item::Struct(s) = inner
                    && let Some(fields) = secrets.operations.get(&s.ident.to_string())
                {
                    found_ops.insert(s.ident.to_string());
                    for f in fields {
                        if !s
                            .fields
                            .iter()
                            .any(|sf| sf.ident.as_ref().is_some_and(|i| i == f))
                        {
                            missing.push(format!(
                                "parameter `{f}` of operation builder `{}` is marked secret but the builder has no such field",
                                s.ident
                            ));
                        }
                    }
                    added.push(redact_struct(s, fields));
                }
            }
            items.extend(added);
        }
    }
    for name in secrets.types.keys().filter(|n| !found_types.contains(*n)) {
        missing.push(format!(
            "schema type `{name}` has properties marked secret but no generated type of that name was found"
        ));
    }
    for name in secrets
        .operations
        .keys()
        .filter(|n| !found_ops.contains(*n))
    {
        missing.push(format!(
            "operation builder `{name}` has parameters marked secret but was not found in the generated code"
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

/// A field's name in JSON: its `#[serde(rename = "...")]`, else its identifier.
fn json_name(field: &syn::Field) -> String {
    for attr in &field.attrs {
        if !attr.path().is_ident("serde") {
            continue;
        }
        let mut renamed = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                renamed = Some(lit.value());
            } else if let Ok(value) = meta.value() {
                // Skip the value of any other `key = value` entry.
                let _: syn::Expr = value.parse()?;
            }
            Ok(())
        });
        if let Some(name) = renamed {
            return name;
        }
    }
    field
        .ident
        .as_ref()
        .map(|i| i.to_string().trim_start_matches("r#").to_owned())
        .unwrap_or_default()
}

/// `X` for a field typed `X` or `Option<X>` where `X` is a bare (local) type name.
fn local_type(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    if p.path.segments.len() == 1 {
        return Some(p.path.segments[0].ident.to_string());
    }
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => match inner {
            syn::Type::Path(ip) if ip.qself.is_none() && ip.path.segments.len() == 1 => {
                Some(ip.path.segments[0].ident.to_string())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether a type is `Option<..>` or `Result<..>` (printed as `Some`/`Ok("<redacted>")`, so a
/// reader still sees whether a value is there, or a builder's own error message).
fn is_option_or_result(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Option" || s.ident == "Result"))
}

/// Drops `Debug` from the struct's derives and returns the redacting `impl Debug` for it.
/// `secret` holds field names (`"0"` for a newtype's value).
fn redact_struct(s: &mut syn::ItemStruct, secret: &BTreeSet<String>) -> syn::Item {
    for attr in &mut s.attrs {
        if !attr.path().is_ident("derive") {
            continue;
        }
        let Ok(paths) =
            attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
        else {
            continue;
        };
        let kept: Vec<&syn::Path> = paths.iter().filter(|p| !p.is_ident("Debug")).collect();
        *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
    }
    let ident = &s.ident;
    let name = ident.to_string();
    let (impl_generics, ty_generics, where_clause) = s.generics.split_for_impl();
    let body: TokenStream = match &s.fields {
        syn::Fields::Named(named) => {
            let fields = named.named.iter().filter_map(|f| {
                let fi = f.ident.as_ref()?;
                let label = fi.to_string().trim_start_matches("r#").to_owned();
                Some(if secret.contains(&fi.to_string()) {
                    if is_option_or_result(&f.ty) {
                        quote!(.field(#label, &self.#fi.as_ref().map(|_| "<redacted>")))
                    } else {
                        quote!(.field(#label, &"<redacted>"))
                    }
                } else {
                    quote!(.field(#label, &self.#fi))
                })
            });
            quote!(f.debug_struct(#name) #(#fields)* .finish())
        }
        syn::Fields::Unnamed(unnamed) => {
            let fields = unnamed.unnamed.iter().enumerate().map(|(i, _)| {
                let index = syn::Index::from(i);
                if secret.contains(&i.to_string()) {
                    quote!(.field(&"<redacted>"))
                } else {
                    quote!(.field(&self.#index))
                }
            });
            quote!(f.debug_tuple(#name) #(#fields)* .finish())
        }
        syn::Fields::Unit => quote!(f.write_str(#name)),
    };
    syn::parse_quote! {
        impl #impl_generics ::std::fmt::Debug for #ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #body
            }
        }
    }
}
