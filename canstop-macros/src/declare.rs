//! `#[service]` on a trait's method declaration (no body): the declaration the `impl`'s
//! `#[service]` method matches, `fn run(self: Arc<Self>, <caller arguments>) -> Service;`.
//!
//! The supplied parameters (`Shutdown`, `Ready`, or marked `#[shutdown]`/`#[ready]`) are
//! taken out and the `async` dropped, as the `impl`'s expansion does, so that the trait and
//! its implementations are written the same way. A session's type names its body, which a
//! declaration cannot: `#[session]` there is an error that says so.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{FnArg, TraitItemFn};

use crate::ast::supplied;
use crate::attr::{Macro, Options};
use crate::error::Errors;

/// The declaration for a bodiless `item`, or `None` when `item` is not one (it has a body,
/// or is not a fn: the ordinary paths take it). Errors go to `errors`.
pub(crate) fn expand(
    mac: Macro,
    options: &Options,
    has_options: bool,
    item: &TokenStream,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let mut decl = syn::parse2::<TraitItemFn>(item.clone()).ok()?;
    if decl.default.is_some() {
        return None;
    }
    match mac {
        Macro::Service => {}
        Macro::Session => {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`#[session]` cannot declare a trait method: a session's type names its body, which a declaration has not; declare a method that returns a `canstop::Service`, or spawn the session from a method's body",
            ));
            return Some(quote!(#item));
        }
        Macro::Main | Macro::Test => return None,
    }
    if has_options {
        errors.push(syn::Error::new(
            Span::call_site(),
            "`#[service]` on a trait's declaration takes no options: they go on the `#[service]` of each `impl`'s method",
        ));
    }
    let krate = options.krate_tokens();
    decl.sig.asyncness = None;
    decl.sig.inputs = std::mem::take(&mut decl.sig.inputs)
        .into_iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(mut typed) => supplied(&mut typed, options.krate.as_ref())
                .is_none()
                .then_some(FnArg::Typed(typed)),
            receiver @ FnArg::Receiver(_) => Some(receiver),
        })
        .collect();
    decl.sig.output = syn::parse_quote!(-> #krate::Service);
    Some(quote!(#decl))
}
