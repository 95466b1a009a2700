//! Pins the public surface progenitor generates from `openapi/*.yaml`.
//!
//! The handwritten layer is written against these names and field types, and users of
//! `cloudflare_calls::raw` see them directly, so any change to an operation, a parameter, a
//! status code, a type or a field must show up as a reviewed snapshot diff rather than slip in
//! through a document edit or a progenitor upgrade.

use std::fmt::Write as _;

use quote::ToTokens;
use syn::{
    Attribute, Expr, Fields, FnArg, GenericArgument, ImplItem, Item, ItemImpl, ItemMod, Lit, Meta,
    PathArguments, ReturnType, Stmt, Type, Visibility,
};

const SFU: &str = include_str!(concat!(env!("OUT_DIR"), "/sfu.rs"));
const TURN: &str = include_str!(concat!(env!("OUT_DIR"), "/turn.rs"));
const ACCOUNT: &str = include_str!(concat!(env!("OUT_DIR"), "/account.rs"));

#[test]
fn sfu_surface() {
    let surface = Surface::parse(SFU);
    surface.assert_operations(&[
        "add_data_channels",
        "add_tracks",
        "close_data_channels",
        "close_tracks",
        "close_websocket_adapters",
        "create_websocket_adapters",
        "establish_data_channel_transport",
        "get_session_state",
        "new_session",
        "renegotiate_session",
        "update_data_channels",
        "update_tracks",
    ]);
    insta::assert_snapshot!("sfu", surface.render());
}

#[test]
fn turn_surface() {
    let surface = Surface::parse(TURN);
    surface.assert_operations(&[
        "generate_ice_servers",
        "generate_turn_credentials",
        "revoke_turn_credentials",
    ]);
    insta::assert_snapshot!("turn", surface.render());
}

#[test]
fn account_surface() {
    let surface = Surface::parse(ACCOUNT);
    surface.assert_operations(&[
        "create_sfu_app",
        "create_turn_key",
        "delete_sfu_app",
        "delete_turn_key",
        "get_sfu_app",
        "get_turn_key",
        "list_sfu_apps",
        "list_turn_keys",
        "update_sfu_app",
        "update_turn_key",
    ]);
    insta::assert_snapshot!("account", surface.render());
}

/// The parts of one generated file that make up its public surface.
struct Surface {
    /// `Client` methods returning an operation builder, with the builder's name.
    operations: Vec<(String, String)>,
    /// Items of the root `builder` module (one struct and one impl per operation).
    builders: Vec<Item>,
    /// Items of the `types` module, without its nested `builder` and `error` modules, which
    /// mirror `types` and are progenitor's own plumbing.
    types: Vec<Item>,
}

impl Surface {
    fn parse(source: &str) -> Self {
        let file = syn::parse_file(source).expect("generated bindings parse as Rust");
        let mut surface = Surface {
            operations: Vec::new(),
            builders: Vec::new(),
            types: Vec::new(),
        };
        for item in file.items {
            match item {
                Item::Mod(m) if m.ident == "types" => surface.types = module_items(m),
                Item::Mod(m) if m.ident == "builder" => surface.builders = module_items(m),
                Item::Impl(imp) if is_inherent_impl_of(&imp, "Client") => {
                    surface.operations.extend(operation_methods(&imp));
                }
                _ => {}
            }
        }
        surface.operations.sort();
        surface
    }

    /// A hard check besides the snapshot: the operation ids are part of the brief.
    fn assert_operations(&self, expected: &[&str]) {
        let names: Vec<&str> = self.operations.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, expected);
    }

    fn render(&self) -> String {
        let mut out = String::from("# operations\n");
        for (name, builder) in &self.operations {
            self.render_operation(&mut out, name, builder);
        }
        out.push_str("\n# types\n");
        let mut types: Vec<&Item> = self.types.iter().filter(|i| is_pub_type(i)).collect();
        types.sort_by_key(|i| item_name(i));
        for item in types {
            render_type(&mut out, item);
        }
        out
    }

    fn render_operation(&self, out: &mut String, name: &str, builder: &str) {
        let params = self
            .builders
            .iter()
            .find_map(|item| match item {
                Item::Struct(s) if s.ident == builder => Some(s),
                _ => None,
            })
            .unwrap_or_else(|| panic!("builder struct {builder} for {name}"));
        let send = self
            .builders
            .iter()
            .filter_map(|item| match item {
                Item::Impl(imp) if is_inherent_impl_of(imp, builder) => Some(imp),
                _ => None,
            })
            .flat_map(|imp| &imp.items)
            .find_map(|item| match item {
                ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{builder}::send for {name}"));

        let _ = writeln!(out, "\n{name}: {}", doc_text(&send.attrs).trim());
        for field in &params.fields {
            let ident = field.ident.as_ref().expect("builder fields are named");
            if ident != "client" {
                let ty = result_ok_type(&field.ty);
                let _ = writeln!(out, "  param {ident}: {}", compact(&ty));
            }
        }
        if let ReturnType::Type(_, ty) = &send.sig.output {
            let _ = writeln!(out, "  returns {}", compact(ty));
        }
        let Some(Stmt::Expr(Expr::Match(status_match), None)) = send.block.stmts.last() else {
            panic!("{name}: send ends with a match on the status code");
        };
        for arm in &status_match.arms {
            let outcome = match arm.body.to_token_stream().to_string() {
                body if body.contains("ErrorResponse") => "error",
                body if body.contains("UnexpectedResponse") => "unexpected",
                _ => "success",
            };
            let pattern = compact(&arm.pat).replace("u16", "");
            let _ = writeln!(out, "  status {pattern} => {outcome}");
        }
    }
}

fn module_items(m: ItemMod) -> Vec<Item> {
    m.content.map(|(_, items)| items).unwrap_or_default()
}

fn is_inherent_impl_of(imp: &ItemImpl, name: &str) -> bool {
    imp.trait_.is_none()
        && matches!(&*imp.self_ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

/// `pub fn op(&self) -> builder::Op<'_>` methods of an `impl Client` block.
fn operation_methods(imp: &ItemImpl) -> Vec<(String, String)> {
    imp.items
        .iter()
        .filter_map(|item| {
            let ImplItem::Fn(f) = item else { return None };
            let is_op = matches!(f.vis, Visibility::Public(_))
                && matches!(f.sig.inputs.first(), Some(FnArg::Receiver(_)))
                && f.sig.inputs.len() == 1;
            let ReturnType::Type(_, ty) = &f.sig.output else {
                return None;
            };
            let Type::Path(path) = &**ty else { return None };
            let segments: Vec<_> = path.path.segments.iter().collect();
            match segments.as_slice() {
                [module, builder] if is_op && module.ident == "builder" => {
                    Some((f.sig.ident.to_string(), builder.ident.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

fn is_pub_type(item: &Item) -> bool {
    match item {
        Item::Struct(s) => matches!(s.vis, Visibility::Public(_)),
        Item::Enum(e) => matches!(e.vis, Visibility::Public(_)),
        Item::Type(t) => matches!(t.vis, Visibility::Public(_)),
        _ => false,
    }
}

fn item_name(item: &Item) -> String {
    match item {
        Item::Struct(s) => s.ident.to_string(),
        Item::Enum(e) => e.ident.to_string(),
        Item::Type(t) => t.ident.to_string(),
        _ => String::new(),
    }
}

fn render_type(out: &mut String, item: &Item) {
    match item {
        Item::Struct(s) => {
            let _ = writeln!(out, "\nstruct {} {}", s.ident, derives(&s.attrs));
            match &s.fields {
                Fields::Named(named) => {
                    for field in &named.named {
                        let ident = field.ident.as_ref().expect("named field");
                        let _ = writeln!(
                            out,
                            "  {ident}{}: {}",
                            wire_name(&field.attrs),
                            compact(&field.ty)
                        );
                    }
                }
                Fields::Unnamed(unnamed) => {
                    for (i, field) in unnamed.unnamed.iter().enumerate() {
                        let _ = writeln!(out, "  .{i}: {}", compact(&field.ty));
                    }
                }
                Fields::Unit => {}
            }
        }
        Item::Enum(e) => {
            let _ = writeln!(out, "\nenum {} {}", e.ident, derives(&e.attrs));
            for variant in &e.variants {
                let payload = match &variant.fields {
                    Fields::Unit => String::new(),
                    fields => compact(fields),
                };
                let _ = writeln!(
                    out,
                    "  {}{payload}{}",
                    variant.ident,
                    wire_name(&variant.attrs)
                );
            }
        }
        Item::Type(t) => {
            let _ = writeln!(out, "\ntype {} = {}", t.ident, compact(&t.ty));
        }
        _ => {}
    }
}

/// `[Clone, Debug, ...]` from `#[derive(...)]`, serde's derives left out as always present.
fn derives(attrs: &[Attribute]) -> String {
    let mut names = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        attr.parse_nested_meta(|meta| {
            let name = meta.path.to_token_stream().to_string().replace(' ', "");
            if !name.starts_with("::serde::") {
                names.push(name);
            }
            Ok(())
        })
        .expect("derive attribute parses");
    }
    format!("[{}]", names.join(", "))
}

/// ` as "jsonName"` when serde renames the field or variant; the wire name is what matters
/// to the service.
fn wire_name(attrs: &[Attribute]) -> String {
    let mut renamed = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                renamed = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                // Skip the value of other `key = "..."` options.
                let _: syn::LitStr = meta.value()?.parse()?;
            }
            Ok(())
        })
        .expect("serde attribute parses");
    }
    renamed.map(|r| format!(" as {r:?}")).unwrap_or_default()
}

fn doc_text(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                Expr::Lit(lit) => match &lit.lit {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// `T` of a builder field typed `Result<T, String>`.
fn result_ok_type(ty: &Type) -> Type {
    if let Type::Path(path) = ty
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(ok)) = args.args.first()
    {
        return ok.clone();
    }
    ty.clone()
}

/// Token text without spaces and with the std / serde_json paths shortened, so the listing
/// stays readable and does not depend on how progenitor spells paths.
fn compact(tokens: &impl ToTokens) -> String {
    let text: String = tokens
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    [
        ("::std::option::", ""),
        ("::std::string::", ""),
        ("::std::vec::", ""),
        ("::std::collections::", ""),
        ("::std::num::", ""),
        ("::serde_json::", "serde_json::"),
    ]
    .iter()
    .fold(text, |acc, (from, to)| acc.replace(from, to))
    .replace(",>", ">")
    .replace(",)", ")")
    .replace(',', ", ")
}
