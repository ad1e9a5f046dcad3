//! The expansion when the fn's signature does not parse (the user is mid-edit: `port: )`).
//!
//! Re-emitting the item as written would make rustc report the same syntax error again, and
//! every caller an error too (the raw `async fn` takes the `Shutdown` and returns a future,
//! not a `Service`). Instead, one error is reported, the signature's own, at its span, and a
//! stub is emitted with the callers' shape as far as it can be read from the tokens: the fn's
//! name and visibility, and one parameter per caller argument, each of a generic type, so that
//! every call site type-checks whatever it passes. What cannot be read that far (no name, a
//! generic fn) falls back to the error alone.

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::{Attribute, FnArg, Path, Visibility};

use crate::ast::{supplied, Supplied};
use crate::attr::Macro;

/// The signature's parse error and the stub, or `None` when the tokens do not show the
/// fn's name and its parameter list (the caller then emits the error with the item).
pub(crate) fn expand(
    mac: Macro,
    item: &TokenStream,
    krate_path: Option<&Path>,
    krate: &TokenStream,
) -> Option<TokenStream> {
    let parts = Parts::read(item)?;
    let error = parts.error(mac.attr());
    let stub = match mac {
        Macro::Main | Macro::Test => {
            // `main` (or a test) is called by no code of the user's: a plain fn keeps rustc
            // from adding "`main` function not found" or "`main` may not be async".
            let (attrs, vis, ident) = (&parts.attrs, &parts.vis, &parts.ident);
            let test = (mac == Macro::Test).then(|| quote!(#[test]));
            quote!(#(#attrs)* #test #vis fn #ident() {})
        }
        Macro::Service | Macro::Session => parts.stub(mac, krate_path, krate),
    };
    Some(quote!(#error #stub))
}

/// What the tokens of a fn whose signature does not parse still tell.
struct Parts {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    /// The tokens from `fn` up to the body, whose parse error is the one reported.
    signature: TokenStream,
    /// The parameters, split at top-level commas.
    params: Vec<TokenStream>,
}

impl Parts {
    fn read(item: &TokenStream) -> Option<Self> {
        let (attrs, vis, rest) = (|input: syn::parse::ParseStream<'_>| {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            let rest: TokenStream = input.parse()?;
            Ok((attrs, vis, rest))
        })
        .parse2(item.clone())
        .ok()?;
        let tokens: Vec<TokenTree> = rest.into_iter().collect();
        let fn_at = tokens
            .iter()
            .position(|token| matches!(token, TokenTree::Ident(ident) if ident == "fn"))?;
        let TokenTree::Ident(ident) = tokens.get(fn_at + 1)?.clone() else {
            return None;
        };
        // A generic fn (`fn f<T>`): its stub would need the generics, which may be the part
        // that does not parse.
        let TokenTree::Group(group) = tokens.get(fn_at + 2)? else {
            return None;
        };
        if group.delimiter() != Delimiter::Parenthesis {
            return None;
        }
        // No body at all is another mistake, with its own message (see `Func::parse`).
        let body_at = tokens.iter().rposition(
            |token| matches!(token, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace),
        )?;
        let signature = tokens[..body_at].iter().cloned().collect();
        Some(Self {
            attrs: attrs
                .into_iter()
                .filter(|attr| attr.path().is_ident("doc") || attr.path().is_ident("cfg"))
                .collect(),
            vis,
            ident,
            signature,
            params: split_params(group.stream()),
        })
    }

    /// One error at the token where the signature stops parsing. rustc reports the syntax
    /// error there too (it parses the item before the macro runs); this one says why the
    /// macro generated nothing, for syntax rustc accepts and the macro cannot read.
    fn error(&self, attr: &str) -> TokenStream {
        let ident = &self.ident;
        match syn::parse2::<syn::Signature>(self.signature.clone()) {
            Err(error) => syn::Error::new(
                error.span(),
                format!("`{attr}` cannot read the signature of `{ident}`: fix the syntax error here first"),
            )
            .to_compile_error(),
            // The signature parses: what follows it before the body does not.
            Ok(_) => syn::Error::new(
                Span::call_site(),
                format!("`{attr}` cannot read `{ident}`: fix the syntax error first"),
            )
            .to_compile_error(),
        }
    }

    /// `fn name<__A0, ..>(a0: __A0, ..) -> Service` (or `Session`), never run: each caller
    /// argument (a parameter that is not the `Shutdown` canstop supplies) of any type.
    fn stub(&self, mac: Macro, krate_path: Option<&Path>, krate: &TokenStream) -> TokenStream {
        let (attrs, vis, ident) = (&self.attrs, &self.vis, &self.ident);
        let mut receiver = None;
        let mut generics = Vec::new();
        let mut inputs = Vec::new();
        for (index, param) in self.params.iter().enumerate() {
            if index == 0 && syn::parse2::<syn::Receiver>(param.clone()).is_ok() {
                receiver = Some(param.clone());
                continue;
            }
            if supplied_by_canstop(param, krate_path) {
                continue;
            }
            let ty = format_ident!("__A{}", generics.len());
            let arg = format_ident!("__a{}", generics.len());
            inputs.push(quote!(#arg: #ty));
            generics.push(ty);
        }
        let receiver = receiver.map(|receiver| quote!(#receiver,));
        let (output, value) = match mac {
            Macro::Session => (
                quote!(#krate::Session<impl #krate::SessionBody<Output = ()>>),
                quote!(#krate::Session::new(::core::stringify!(#ident), |_: #krate::Shutdown| async {})),
            ),
            _ => (
                quote!(#krate::Service),
                quote!(#krate::Service::new(::core::stringify!(#ident), |_: #krate::Shutdown| async {})),
            ),
        };
        quote! {
            #(#attrs)*
            #[allow(unused_variables, clippy::extra_unused_type_parameters)]
            #vis fn #ident<#(#generics),*>(#receiver #(#inputs),*) -> #output {
                #value
            }
        }
    }
}

/// The parameters of a parenthesised list, split at its top-level commas (empty ones, a
/// trailing comma's, dropped).
fn split_params(stream: TokenStream) -> Vec<TokenStream> {
    let mut params = Vec::new();
    let mut current = TokenStream::new();
    let mut depth = 0usize;
    for token in stream {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == '<' => depth += 1,
            TokenTree::Punct(punct) if punct.as_char() == '>' => depth = depth.saturating_sub(1),
            TokenTree::Punct(punct) if punct.as_char() == ',' && depth == 0 => {
                if !current.is_empty() {
                    params.push(std::mem::take(&mut current));
                }
                continue;
            }
            _ => {}
        }
        current.extend([token]);
    }
    if !current.is_empty() {
        params.push(current);
    }
    params
}

/// Whether a parameter is the `Shutdown` or the `Ready` canstop supplies: by the macro's own
/// rule ([`supplied`]) when it parses; the one that does not (the edit in progress) by its
/// tokens: marked `#[shutdown]` or `#[ready]`, or typed with a path that names `Shutdown` or
/// `Ready`.
fn supplied_by_canstop(param: &TokenStream, krate: Option<&Path>) -> bool {
    if let Ok(FnArg::Typed(mut typed)) = syn::parse2::<FnArg>(param.clone()) {
        return supplied(&mut typed, krate).is_some();
    }
    let tokens: Vec<TokenTree> = param.clone().into_iter().collect();
    let is_marker = |group: &proc_macro2::Group| {
        let text = group.stream().to_string();
        Supplied::ALL.iter().any(|what| what.marker() == text)
    };
    let marked = tokens.windows(2).any(|pair| {
        matches!(&pair[0], TokenTree::Punct(p) if p.as_char() == '#')
            && matches!(&pair[1], TokenTree::Group(g) if is_marker(g))
    });
    let colon = tokens
        .iter()
        .position(|token| matches!(token, TokenTree::Punct(p) if p.as_char() == ':'));
    let typed = colon.is_some_and(|at| {
        tokens[at + 1..].iter().any(|token| {
            matches!(token, TokenTree::Ident(ident)
                if Supplied::ALL.iter().any(|what| ident == what.type_name()))
        })
    });
    marked || typed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(mac: Macro, item: TokenStream) -> String {
        expand(mac, &item, None, &quote!(::canstop))
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_missing_type_gives_the_signatures_error_and_a_stub_callers_can_call() {
        let out = expanded(
            Macro::Service,
            quote!(async fn worker(shutdown: Shutdown, port: ) { shutdown.requested().await; }),
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("fn worker < __A0 > (__a0 : __A0) -> :: canstop :: Service"),
            "{out}"
        );
    }

    #[test]
    fn a_receiver_is_kept_and_a_marked_shutdown_left_out() {
        let out = expanded(
            Macro::Session,
            quote!(async fn run(self: Arc<Self>, #[shutdown] stop: Stop, job: Job, n: ) {}),
        );
        assert!(
            out.contains(
                "fn run < __A0 , __A1 > (self : Arc < Self > , __a0 : __A0 , __a1 : __A1)"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_ready_is_left_out_as_a_shutdown_is() {
        let out = expanded(
            Macro::Service,
            quote!(async fn run(ready: Ready, #[ready] up: Up, job: Job, n: ) {}),
        );
        assert!(
            out.contains("fn run < __A0 , __A1 > (__a0 : __A0 , __a1 : __A1)"),
            "{out}"
        );
        // The parameter mid-edit, by its tokens.
        let out = expanded(
            Macro::Service,
            quote!(async fn run(job: Job, ready: canstop::Ready<) {}),
        );
        assert!(out.contains("fn run < __A0 > (__a0 : __A0)"), "{out}");
    }

    #[test]
    fn main_becomes_a_plain_fn() {
        let out = expanded(Macro::Main, quote!(async fn main() -> Result<(), { }));
        assert!(out.contains("fn main () { }"), "{out}");
    }

    #[test]
    fn a_users_own_shutdown_type_is_the_callers_argument() {
        let out = expanded(
            Macro::Service,
            quote!(async fn run(stop: config::Shutdown, maybe: Option<Shutdown>, n: ) {}),
        );
        assert!(
            out.contains("fn run < __A0 , __A1 , __A2 > (__a0 : __A0 , __a1 : __A1 , __a2 : __A2)"),
            "{out}"
        );
    }

    #[test]
    fn no_name_no_stub() {
        assert!(expand(
            Macro::Service,
            &quote!(async fn (x: u8) {}),
            None,
            &quote!(::canstop)
        )
        .is_none());
    }
}
