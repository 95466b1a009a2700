//! Generates the raw bindings from the project's OpenAPI documents in `openapi/`.
//!
//! One module per document: each API has its own host, auth and error shape, so each gets
//! its own generated `Client`. Every generated client carries a `crate::http::transport::Transport`
//! and must implement `ClientHooks` (see `src/http/transport.rs`): that is where auth, retries,
//! timeouts and tracing live, so the raw bindings behave exactly like the handwritten layer.

use std::{env, fs, path::PathBuf};

const APIS: &[&str] = &["sfu", "turn", "account"];

/// Enum schemas of `openapi/` replaced by the handwritten enums of `src/wire.rs`, which keep
/// values the service adds later instead of failing to decode them.
const WIRE_ENUMS: &[&str] = &[
    "SdpType",
    "Location",
    "ResourceStatus",
    "PriorityOrdering",
    "RidNotAvailable",
    "AdapterOutputCodec",
    "AdapterInputCodec",
    "AdapterMode",
];

/// String schemas of `openapi/` holding credentials, replaced by `crate::secret::Secret` so that the
/// raw bindings' `Debug` output never shows them.
const SECRETS: &[&str] = &["AppSecret", "TurnKeySecret", "TurnCredential"];

/// The WebSocket URL of an adapter, replaced by `crate::adapter_url::AdapterUrl`, whose `Debug` hides the
/// token that such URLs usually carry in their query.
const ADAPTER_URL: &str = "AdapterUrl";

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=openapi");
    for api in APIS {
        let path = format!("openapi/{api}.yaml");
        println!("cargo:rerun-if-changed={path}");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let spec: openapiv3::OpenAPI =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));

        let mut settings = progenitor::GenerationSettings::default();
        settings
            .with_interface(progenitor::InterfaceStyle::Builder)
            .with_tag(progenitor::TagStyle::Merged)
            .with_inner_type(quote::quote!(crate::http::transport::Transport))
            .with_hooks(progenitor::HooksMode::Expected)
            .with_derive("PartialEq")
            .with_derive("Eq");
        for name in WIRE_ENUMS {
            settings.with_replacement(
                name,
                format!("crate::wire::{name}"),
                [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
            );
        }
        for name in SECRETS {
            settings.with_replacement(
                name,
                "crate::secret::Secret",
                [progenitor::TypeImpl::Display].into_iter(),
            );
        }
        settings.with_replacement(
            ADAPTER_URL,
            "crate::adapter_url::AdapterUrl",
            [progenitor::TypeImpl::Display].into_iter(),
        );
        let tokens = progenitor::Generator::new(&settings)
            .generate_tokens(&spec)
            .unwrap_or_else(|e| panic!("generating bindings for {path}: {e}"));
        let file: syn::File = syn::parse2(tokens)
            .unwrap_or_else(|e| panic!("bindings for {path} are not valid Rust: {e}"));
        let code = prettyplease::unparse(&file);
        fs::write(out_dir.join(format!("{api}.rs")), code).expect("writing bindings to OUT_DIR");
    }
}
