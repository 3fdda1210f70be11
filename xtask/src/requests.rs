//! Trimming what progenitor emits into every operation's `send` that cxkit's hooks would only
//! undo, or that costs more than it must, on every call.
//!
//! - **The `api-version` header.** progenitor 0.15.1 puts the spec's `info.version` in an
//!   `api-version` header on every request, through a `HeaderMap` built per call and merged
//!   into the request. The vendors know no such header: the hooks send `X-API-Version` (the
//!   version the spec was curated against, or none for legacy operations), and used to remove
//!   progenitor's header again. The append is dropped here, and with it the header map when
//!   nothing else goes in it.
//! - **The URL.** progenitor builds it with `format!("{}/path/{}", client.baseurl, ...)`; a
//!   `[..].concat()` of the same pieces gives the same string with one exact allocation and no
//!   formatting machinery.
//! - **The answer's headers.** `ResponseValue::from_response` copies the response's header map
//!   before reading the body; the generated crate's own `response_value` (appended by
//!   [`response_value_fn`]) moves it instead, and is called in its place.
//!
//! Both leave the requests on the wire unchanged but for the dropped header, which the loopback
//! tests assert is absent. A `send` that does not look as expected is left as progenitor wrote
//! it: the rewrite is an optimisation, never a requirement.

use quote::quote;
use syn::visit_mut::VisitMut;
use syn::{Expr, ExprMacro, Stmt};

/// What [`apply`] changed, for its tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// `api-version` appends removed.
    pub api_version_headers: usize,
    /// Header maps removed because nothing else went in them.
    pub header_maps: usize,
    /// URL `format!`s turned into `concat`s.
    pub urls: usize,
    /// `ResponseValue::from_response` calls turned into `super::response_value` calls.
    pub response_values: usize,
}

/// Rewrites every operation's `send` in `file` (see the module documentation).
pub fn apply(file: &mut syn::File) -> Trimmed {
    let mut trimmer = Trimmer::default();
    trimmer.visit_file_mut(file);
    trimmer.done
}

#[derive(Default)]
struct Trimmer {
    done: Trimmed,
}

impl VisitMut for Trimmer {
    fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
        if f.sig.ident == "send" && f.sig.asyncness.is_some() {
            trim_send(&mut f.block, &mut self.done);
        }
        syn::visit_mut::visit_impl_item_fn_mut(self, f);
    }
}

fn trim_send(block: &mut syn::Block, done: &mut Trimmed) {
    let mut values = ResponseValues(0);
    values.visit_block_mut(block);
    done.response_values += values.0;
    let before = block.stmts.len();
    block.stmts.retain(|stmt| !is_api_version_append(stmt));
    let removed = before - block.stmts.len();
    done.api_version_headers += removed;
    if removed > 0 && header_map_uses(block) == 2 {
        // What is left is `let mut header_map = ..;` and `.headers(header_map)`.
        let declared = block.stmts.len();
        block
            .stmts
            .retain(|stmt| !declares_local(stmt, "header_map"));
        if block.stmts.len() + 1 == declared {
            DropHeaders.visit_block_mut(block);
            done.header_maps += 1;
        }
    }
    for stmt in &mut block.stmts {
        if let Stmt::Local(local) = stmt
            && let syn::Pat::Ident(name) = &local.pat
            && name.ident == "url"
            && let Some(init) = &mut local.init
            && let Expr::Macro(mac) = &*init.expr
            && let Some(concat) = url_concat(mac)
        {
            *init.expr = concat;
            done.urls += 1;
        }
    }
}

/// `header_map.append(HeaderName::from_static("api-version"), ..);`
fn is_api_version_append(stmt: &Stmt) -> bool {
    let Stmt::Expr(Expr::MethodCall(call), Some(_)) = stmt else {
        return false;
    };
    let receiver_is_map = matches!(&*call.receiver, Expr::Path(p) if p.path.is_ident("header_map"));
    receiver_is_map
        && call.method == "append"
        && call.args.first().is_some_and(|name| {
            let text = quote!(#name).to_string();
            text.contains("from_static") && text.contains("\"api-version\"")
        })
}

/// How many times the identifier `header_map` occurs in `block`.
fn header_map_uses(block: &syn::Block) -> usize {
    fn count(tokens: proc_macro2::TokenStream) -> usize {
        tokens
            .into_iter()
            .map(|tree| match tree {
                proc_macro2::TokenTree::Ident(ident) => usize::from(ident == "header_map"),
                proc_macro2::TokenTree::Group(group) => count(group.stream()),
                _ => 0,
            })
            .sum()
    }
    count(quote!(#block))
}

/// `let [mut] name = ..;`
fn declares_local(stmt: &Stmt, name: &str) -> bool {
    matches!(stmt, Stmt::Local(local)
        if matches!(&local.pat, syn::Pat::Ident(p) if p.ident == name))
}

/// Replaces `ResponseValue::from_response(x)` with `super::response_value(x)`, counting.
struct ResponseValues(usize);

impl VisitMut for ResponseValues {
    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        if let Expr::Path(path) = &*call.func
            && path.qself.is_none()
            && path.path.segments.len() == 2
            && path.path.segments[0].ident == "ResponseValue"
            && path.path.segments[1].ident == "from_response"
            && path.path.segments[1].arguments.is_none()
            && call.args.len() == 1
        {
            *call.func = syn::parse_quote!(super::response_value);
            self.0 += 1;
        }
        syn::visit_mut::visit_expr_call_mut(self, call);
    }
}

/// The generated crate's `response_value`, which [`apply`] calls instead of
/// `ResponseValue::from_response`: the same, but the answer's header map is moved into the value,
/// not copied (the body is read the same way, and decoding fails the same way).
pub fn response_value_fn() -> syn::Item {
    syn::parse_quote! {
        /// `ResponseValue::from_response`, moving the answer's headers into the value instead
        /// of copying them (written by `cargo xtask generate`).
        async fn response_value<T: ::serde::de::DeserializeOwned, E>(
            mut response: reqwest::Response,
        ) -> ::std::result::Result<ResponseValue<T>, Error<E>> {
            let status = response.status();
            let headers = ::std::mem::take(response.headers_mut());
            let full = response.bytes().await.map_err(Error::ResponseBodyError)?;
            let inner = ::serde_json::from_slice(&full)
                .map_err(|e| Error::InvalidResponsePayload(full, e))?;
            ::std::result::Result::Ok(ResponseValue::new(inner, status, headers))
        }
    }
}

/// Replaces `<receiver>.headers(header_map)` with `<receiver>`.
struct DropHeaders;

impl VisitMut for DropHeaders {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::MethodCall(call) = expr
            && call.method == "headers"
            && call.args.len() == 1
            && matches!(&call.args[0], Expr::Path(p) if p.path.is_ident("header_map"))
        {
            *expr = (*call.receiver).clone();
            self.visit_expr_mut(expr);
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// `format!("{}/a/{}/b", client.baseurl, x)` as
/// `[AsRef::<str>::as_ref(&client.baseurl), "/a/", AsRef::<str>::as_ref(&x), "/b"].concat()`,
/// when the format string has only bare `{}` placeholders, one per argument.
fn url_concat(mac: &ExprMacro) -> Option<Expr> {
    if !mac.mac.path.is_ident("format") {
        return None;
    }
    let args = mac
        .mac
        .parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.into_iter();
    let Some(Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(template),
        ..
    })) = args.next()
    else {
        return None;
    };
    let template = template.value();
    let values: Vec<Expr> = args.collect();
    let pieces: Vec<&str> = template.split("{}").collect();
    if pieces.len() != values.len() + 1 || pieces.iter().any(|p| p.contains(['{', '}'])) {
        return None;
    }
    let mut parts = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        if !piece.is_empty() {
            parts.push(quote!(#piece));
        }
        if let Some(value) = values.get(i) {
            parts.push(quote!(::std::convert::AsRef::<str>::as_ref(&#value)));
        }
    }
    syn::parse2(quote!([#(#parts),*].concat())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trimmed(code: proc_macro2::TokenStream) -> (String, Trimmed) {
        let mut file: syn::File = syn::parse2(code).unwrap();
        let done = apply(&mut file);
        (prettyplease::unparse(&file), done)
    }

    #[test]
    fn the_api_version_header_and_its_map_go_and_the_url_is_concatenated() {
        let (code, done) = trimmed(quote! {
            impl<'a> GetAgent<'a> {
                pub async fn send(self) -> Result<(), ()> {
                    let url = format!("{}/api/v2/agents/{}", client.baseurl, encode_path(&agent_id.to_string()),);
                    let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                    header_map.append(
                        ::reqwest::header::HeaderName::from_static("api-version"),
                        ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                    );
                    let mut request = client.client.get(url).header(ACCEPT, v).headers(header_map).build()?;
                    Ok(())
                }
            }
        });
        assert_eq!(
            done,
            Trimmed {
                api_version_headers: 1,
                header_maps: 1,
                urls: 1,
                response_values: 0,
            }
        );
        assert!(!code.contains("header_map"), "{code}");
        assert!(!code.contains("api-version"), "{code}");
        assert!(
            code.contains("client.client.get(url).header(ACCEPT, v).build()?"),
            "{code}"
        );
        assert!(
            code.contains(r#""/api/v2/agents/""#) && code.contains(".concat()"),
            "{code}"
        );
    }

    #[test]
    fn a_map_with_other_headers_stays_and_odd_formats_are_left_alone() {
        let (code, done) = trimmed(quote! {
            impl<'a> Op<'a> {
                pub async fn send(self) -> Result<(), ()> {
                    let url = format!("{}/a/{:?}", client.baseurl, x);
                    let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                    header_map.append(
                        ::reqwest::header::HeaderName::from_static("api-version"),
                        ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                    );
                    header_map.append("x-tenant", tenant.to_string().try_into()?);
                    let mut request = client.client.get(url).headers(header_map).build()?;
                    Ok(())
                }
            }
        });
        assert_eq!(
            done,
            Trimmed {
                api_version_headers: 1,
                header_maps: 0,
                urls: 0,
                response_values: 0,
            }
        );
        assert!(code.contains(".headers(header_map)"), "{code}");
        assert!(
            code.contains("x-tenant") && !code.contains("api-version"),
            "{code}"
        );
        assert!(code.contains("format!"), "{code}");
    }

    #[test]
    fn answers_are_read_by_the_crate_s_own_response_value() {
        let (code, done) = trimmed(quote! {
            impl<'a> Op<'a> {
                pub async fn send(self) -> Result<(), ()> {
                    match response.status().as_u16() {
                        200u16 => ResponseValue::from_response(response).await,
                        401u16 => Err(Error::ErrorResponse(ResponseValue::from_response(response).await?)),
                        _ => Err(Error::UnexpectedResponse(response)),
                    }
                }
            }
        });
        assert_eq!(done.response_values, 2);
        assert!(!code.contains("from_response"), "{code}");
        assert_eq!(
            code.matches("super::response_value(response)").count(),
            2,
            "{code}"
        );
    }

    /// The concatenation gives the string `format!` gives.
    #[test]
    fn concat_equals_format() {
        let (base, id) = ("https://h".to_string(), "a%2Fb".to_string());
        let formatted = format!("{}/api/v2/agents/{}/x", base, id);
        let concatenated = [
            AsRef::<str>::as_ref(&base),
            "/api/v2/agents/",
            AsRef::<str>::as_ref(&id),
            "/x",
        ]
        .concat();
        assert_eq!(formatted, concatenated);
    }
}
