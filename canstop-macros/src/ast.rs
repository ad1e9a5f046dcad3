//! Step 1b: the annotated fn, parsed and its parameters classified.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::visit::Visit;
use syn::{
    Attribute, Block, FnArg, Ident, Pat, PatIdent, PatType, Path, Signature, Type, Visibility,
};

/// The fn a macro is put on. Only the signature must parse: the body is kept as tokens, so
/// that a body mid-edit (a missing `;`) still gives a fn with the callers' signature, and
/// rustc's own syntax error is the only one.
pub(crate) struct Func {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The body, braces included, as written.
    pub(crate) body: Group,
    /// Whether the body parses: the body checks run only then (mid-edit, rustc's syntax
    /// error is the one to see).
    pub(crate) body_parses: bool,
    /// The typed parameters, in order (a `self` receiver is not one).
    pub(crate) params: Vec<Param>,
    /// [`body_in_place`](Self::body_in_place), once worked out (it walks the body).
    in_place: std::cell::OnceCell<bool>,
}

/// What canstop supplies to a parameter, rather than the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Supplied {
    /// The body's `Shutdown`.
    Shutdown,
    /// The body's `Ready`, taken from its `Shutdown` when the body is built.
    Ready,
}

impl Supplied {
    /// Both, in the order [`supplied`] tries their markers.
    pub(crate) const ALL: [Self; 2] = [Self::Shutdown, Self::Ready];

    /// The type's name, in canstop and in messages.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Self::Shutdown => "Shutdown",
            Self::Ready => "Ready",
        }
    }

    /// The marker that makes a parameter of another type (an alias) this one.
    pub(crate) fn marker(self) -> &'static str {
        match self {
            Self::Shutdown => "shutdown",
            Self::Ready => "ready",
        }
    }
}

/// One typed parameter.
pub(crate) struct Param {
    /// Its attributes (`#[cfg(..)]`), less `#[shutdown]` and `#[ready]`: on the generated
    /// fn's parameter and on the body's binding of it.
    pub(crate) attrs: Vec<Attribute>,
    /// The pattern as written (`addr`, `mut addr`, `(a, b)`).
    pub(crate) pat: Box<Pat>,
    pub(crate) ty: Box<Type>,
    /// Whether canstop supplies it, and what: it is marked `#[shutdown]` or `#[ready]`, or
    /// its type is canstop's `Shutdown` or `Ready` by its path (see [`is_supplied_type`]), or
    /// a reference to one, which [`crate::valid`] rejects. The generated code checks that
    /// the type is canstop's.
    pub(crate) supplied: Option<Supplied>,
    /// Its name in the generated fn's signature: the user's own when the pattern is a plain
    /// binding (`addr`, `mut addr`), else a hygienic one (`(a, b): (u8, u8)`).
    pub(crate) outer: Ident,
}

impl Func {
    /// Parses `item`; an item that is not a fn with a body is an error at `attr`'s call site.
    /// `krate` is the `crate = "..."` path, if given. The `#[shutdown]` markers are taken out
    /// of the signature.
    pub(crate) fn parse(item: TokenStream, attr: &str, krate: Option<&Path>) -> syn::Result<Self> {
        let FnTokens {
            attrs,
            vis,
            mut sig,
            body,
        } = syn::parse2::<FnTokens>(item).map_err(|_| {
            syn::Error::new(
                Span::call_site(),
                format!("`{attr}` goes on an `async fn` with a body"),
            )
        })?;
        let body_parses = syn::parse2::<Block>(TokenTree::Group(body.clone()).into()).is_ok();
        let params = sig
            .inputs
            .iter_mut()
            .filter_map(|arg| match arg {
                FnArg::Typed(typed) => Some(typed),
                FnArg::Receiver(_) => None,
            })
            .enumerate()
            .map(|(index, typed)| Param {
                supplied: supplied(typed, krate),
                attrs: typed.attrs.clone(),
                pat: typed.pat.clone(),
                ty: typed.ty.clone(),
                outer: outer_name(&typed.pat, index),
            })
            .collect();
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
            body_parses,
            in_place: std::cell::OnceCell::new(),
            params,
        })
    }

    /// Whether the body is generated in place, as an `async` block in the generated fn that
    /// binds the parameters, rather than as an inner fn that the generated fn calls: when it
    /// must stay inside the `impl` the fn is in (the fn takes `self`, or names `Self` or what
    /// reads as the `impl`'s type parameter in its signature or its body: an inner fn could
    /// see none of them), or when a parameter has attributes (`#[cfg(..)]`: a call's
    /// arguments cannot carry them, `let`s can).
    ///
    /// A macro cannot see the `impl` around the fn: a type parameter of `impl<T> Pool<T>` is
    /// recognised by its name, one capital letter (`T`, `K`, `E`) that the fn does not
    /// declare itself. A type of that name that is not a parameter only moves the body in
    /// place, which compiles the same.
    pub(crate) fn body_in_place(&self) -> bool {
        *self.in_place.get_or_init(|| {
            self.sig.receiver().is_some()
                || self.params.iter().any(|param| !param.attrs.is_empty())
                || signature_names_self(&self.sig)
                || !self.self_in_body().is_empty()
                || self.names_an_outer_param()
        })
    }

    /// Whether the signature or the body (outside nested items) names what reads as a type
    /// parameter of the enclosing `impl` (see [`body_in_place`](Self::body_in_place)).
    fn names_an_outer_param(&self) -> bool {
        let own: Vec<String> = self
            .sig
            .generics
            .type_params()
            .map(|param| param.ident.to_string())
            .collect();
        let outer = |ident: &Ident| {
            let name = ident.to_string();
            name.len() == 1 && name.as_bytes()[0].is_ascii_uppercase() && !own.contains(&name)
        };
        let mut finder = NamesInSignature {
            found: false,
            names: &outer,
        };
        finder.visit_signature(&self.sig);
        if finder.found {
            return true;
        }
        let mut found = false;
        if self.body_parses {
            crate::walk::walk(self.body.stream(), &mut |tokens, index| {
                if let TokenTree::Ident(ident) = &tokens[index] {
                    found |= outer(ident);
                }
                None
            });
        }
        found
    }

    /// Where the body (when it parses) names `Self`, in its statements and in its macros'
    /// arguments, but not inside a nested item, which has its own `Self` or none.
    pub(crate) fn self_in_body(&self) -> Vec<Span> {
        let mut found = Vec::new();
        if self.body_parses {
            crate::walk::walk(self.body.stream(), &mut |tokens, index| {
                if let TokenTree::Ident(ident) = &tokens[index] {
                    if ident == "Self" {
                        found.push(ident.span());
                    }
                }
                None
            });
        }
        found
    }

    /// Whether this is what `#[tokio::main]` or `#[tokio::test]` made of an `async fn`: they
    /// ran first (they were written above), and left a plain fn whose body starts with
    /// `let body = async`.
    pub(crate) fn is_tokio_output(&self) -> bool {
        let start: Vec<String> = self
            .body
            .stream()
            .into_iter()
            .take(4)
            .map(|token| token.to_string())
            .collect();
        self.sig.asyncness.is_none() && start == ["let", "body", "=", "async"]
    }

    /// Whether this is what `#[service]` or `#[session]` made of an `async fn`, another of
    /// them having been written above this one: a plain fn whose body names canstop's
    /// `__private` module, which no user code does.
    pub(crate) fn is_canstop_output(&self) -> bool {
        fn names_private(stream: TokenStream) -> bool {
            stream.into_iter().any(|token| match token {
                TokenTree::Ident(ident) => ident == "__private",
                TokenTree::Group(group) => names_private(group.stream()),
                _ => false,
            })
        }
        self.sig.asyncness.is_none() && names_private(self.body.stream())
    }

    /// The parameters canstop supplies its `Shutdown` to.
    pub(crate) fn shutdown_params(&self) -> impl Iterator<Item = &Param> {
        self.supplied_params(Supplied::Shutdown)
    }

    /// The parameters canstop supplies its `Ready` to.
    pub(crate) fn ready_params(&self) -> impl Iterator<Item = &Param> {
        self.supplied_params(Supplied::Ready)
    }

    /// The parameters canstop supplies `what` to.
    pub(crate) fn supplied_params(&self, what: Supplied) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(move |param| param.supplied == Some(what))
    }

    /// The parameters the caller supplies.
    pub(crate) fn caller_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|param| param.supplied.is_none())
    }
}

/// Whether a parameter type, the return type, the generics or the `where` clause of `sig`
/// name `Self`.
pub(crate) fn signature_names_self(sig: &Signature) -> bool {
    let mut finder = SelfInSignature::default();
    for input in &sig.inputs {
        if let FnArg::Typed(typed) = input {
            finder.visit_type(&typed.ty);
        }
    }
    finder.visit_return_type(&sig.output);
    finder.visit_generics(&sig.generics);
    finder.found
}

#[derive(Default)]
struct SelfInSignature {
    found: bool,
}

/// Finds a path whose first segment `names` accepts, in a signature.
struct NamesInSignature<'a> {
    found: bool,
    names: &'a dyn Fn(&Ident) -> bool,
}

impl<'ast> Visit<'ast> for NamesInSignature<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.found |= path.leading_colon.is_none()
            && path
                .segments
                .first()
                .is_some_and(|first| (self.names)(&first.ident));
        syn::visit::visit_path(self, path);
    }
}

impl<'ast> Visit<'ast> for SelfInSignature {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.found |= path.leading_colon.is_none()
            && path
                .segments
                .first()
                .is_some_and(|first| first.ident == "Self");
        syn::visit::visit_path(self, path);
    }
}

/// What canstop supplies to a parameter, if anything: marked `#[shutdown]` or `#[ready]` (the
/// markers are taken out; the first wins), or typed `Shutdown`, `Ready`, `&Shutdown` or
/// `&Ready` as [`is_supplied_type`] recognises them.
pub(crate) fn supplied(typed: &mut PatType, krate: Option<&Path>) -> Option<Supplied> {
    let mut marked = None;
    typed.attrs.retain(|attr| {
        let marker = Supplied::ALL
            .into_iter()
            .find(|what| attr.path().is_ident(what.marker()));
        marked = marked.or(marker);
        marker.is_none()
    });
    let ty = match peel(&typed.ty) {
        Type::Reference(reference) => &reference.elem,
        ty => ty,
    };
    marked.or_else(|| {
        Supplied::ALL
            .into_iter()
            .find(|what| is_supplied_type(ty, *what, krate))
    })
}

/// A fn item whose body is not parsed: attributes, visibility, signature, `{ .. }`.
struct FnTokens {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: Group,
}

impl Parse for FnTokens {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = input.step(|cursor| match cursor.token_tree() {
            Some((TokenTree::Group(group), rest)) if group.delimiter() == Delimiter::Brace => {
                Ok((group, rest))
            }
            _ => Err(cursor.error("expected the fn's body")),
        })?;
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// Whether `ty` names canstop's `Shutdown` (or `Ready`, as `what` says): `Shutdown`,
/// `canstop::Shutdown`, `::canstop::Shutdown`, or `<path>::Shutdown` where `<path>` ends the
/// `crate = "..."` path (with `crate = "framework::runtime"`: `runtime::Shutdown` and
/// `framework::runtime::Shutdown`). Any other path ending in `Shutdown` (`config::Shutdown`)
/// is a type of the user's, passed by the caller; an alias is recognised only when marked
/// `#[shutdown]` (`#[ready]`). A bare `Shutdown` may be the user's own too: the generated
/// code checks it.
pub(crate) fn is_supplied_type(ty: &Type, what: Supplied, krate: Option<&Path>) -> bool {
    let Type::Path(path) = peel(ty) else {
        return false;
    };
    if path.qself.is_some() || path.path.segments.iter().any(|s| !s.arguments.is_none()) {
        return false;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    let Some((last, prefix)) = segments.split_last() else {
        return false;
    };
    if last != what.type_name() {
        return false;
    }
    let krate: Vec<String> = match krate {
        Some(krate) => krate.segments.iter().map(|s| s.ident.to_string()).collect(),
        None => Vec::new(),
    };
    prefix.is_empty()
        || (prefix == ["canstop"])
        || (path.path.leading_colon.is_none() && krate.ends_with(prefix))
        || (path.path.leading_colon.is_some() && krate == prefix)
}

/// The type inside parentheses and invisible groups (which `macro_rules!` inputs produce).
pub(crate) fn peel(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Paren(inner) => ty = &inner.elem,
            Type::Group(inner) => ty = &inner.elem,
            _ => return ty,
        }
    }
}

fn outer_name(pat: &Pat, index: usize) -> Ident {
    match pat {
        Pat::Ident(PatIdent {
            by_ref: None,
            subpat: None,
            ident,
            ..
        }) if ident != "self" => ident.clone(),
        _ => Ident::new(&format!("__canstop_arg{index}"), Span::mixed_site()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn recognises_canstops_shutdown_by_its_path() {
        let krate: Path = syn::parse_quote!(crate::framework::runtime);
        for (ty, krate) in [
            (quote!(Shutdown), None),
            (quote!(canstop::Shutdown), None),
            (quote!(::canstop::Shutdown), None),
            (quote!((Shutdown)), None),
            (quote!(runtime::Shutdown), Some(&krate)),
            (quote!(framework::runtime::Shutdown), Some(&krate)),
            (quote!(crate::framework::runtime::Shutdown), Some(&krate)),
        ] {
            assert!(
                is_supplied_type(&syn::parse2(ty.clone()).unwrap(), Supplied::Shutdown, krate),
                "{ty}"
            );
        }
        for (ty, krate) in [
            (quote!(&Shutdown), None),
            (quote!(Shutdown<T>), None),
            (quote!(ShutdownSignal), None),
            (quote!(Option<Shutdown>), None),
            (quote!(config::Shutdown), None),
            (quote!(crate::Shutdown), None),
            (quote!(other::canstop::Shutdown), None),
            (quote!(::runtime::Shutdown), Some(&krate)),
            (quote!(config::Shutdown), Some(&krate)),
        ] {
            assert!(
                !is_supplied_type(&syn::parse2(ty.clone()).unwrap(), Supplied::Shutdown, krate),
                "{ty}"
            );
        }
    }

    #[test]
    fn recognises_canstops_ready_by_its_path() {
        let krate: Path = syn::parse_quote!(framework::runtime);
        for (ty, krate) in [
            (quote!(Ready), None),
            (quote!(canstop::Ready), None),
            (quote!(::canstop::Ready), None),
            (quote!(runtime::Ready), Some(&krate)),
        ] {
            let parsed: Type = syn::parse2(ty.clone()).unwrap();
            assert!(is_supplied_type(&parsed, Supplied::Ready, krate), "{ty}");
            assert!(
                !is_supplied_type(&parsed, Supplied::Shutdown, krate),
                "{ty}"
            );
        }
        for ty in [
            quote!(Ready<u8>),
            quote!(std::future::Ready),
            quote!(Shutdown),
            quote!(IsReady),
        ] {
            let parsed: Type = syn::parse2(ty.clone()).unwrap();
            assert!(!is_supplied_type(&parsed, Supplied::Ready, None), "{ty}");
        }
    }

    #[test]
    fn a_marked_parameter_is_canstops_and_loses_its_mark() {
        let func = Func::parse(
            quote!(
                async fn f(
                    #[shutdown] stop: Stop,
                    own: config::Shutdown,
                    #[ready] up: Up,
                    by_type: Ready,
                    by_ref: &canstop::Ready,
                    own_ready: config::Ready,
                ) {
                }
            ),
            "#[service]",
            None,
        )
        .unwrap();
        let supplied: Vec<Option<Supplied>> = func.params.iter().map(|p| p.supplied).collect();
        assert_eq!(
            supplied,
            [
                Some(Supplied::Shutdown),
                None,
                Some(Supplied::Ready),
                Some(Supplied::Ready),
                Some(Supplied::Ready),
                None
            ]
        );
        assert_eq!(func.ready_params().count(), 3);
        assert_eq!(func.caller_params().count(), 2);
        let sig = &func.sig;
        let sig = quote!(#sig).to_string();
        assert!(
            !sig.contains("shutdown ]") && !sig.contains("ready ]"),
            "{sig}"
        );
    }

    #[test]
    fn keeps_plain_parameter_names() {
        let func = Func::parse(
            quote!(
                async fn f(mut a: u8, (b, c): (u8, u8), s: Shutdown, ref d: u8) {}
            ),
            "#[service]",
            None,
        )
        .unwrap();
        let names: Vec<String> = func.params.iter().map(|p| p.outer.to_string()).collect();
        assert_eq!(names, ["a", "__canstop_arg1", "s", "__canstop_arg3"]);
        assert_eq!(func.shutdown_params().count(), 1);
        assert_eq!(func.caller_params().count(), 3);
    }

    #[test]
    fn keeps_a_body_that_does_not_parse() {
        let func = Func::parse(
            quote!(
                async fn f(a: u8) {
                    let b = a let c = b;
                }
            ),
            "#[service]",
            None,
        )
        .unwrap();
        assert!(!func.body_parses);
        assert_eq!(func.params.len(), 1);
        assert!(func.body.to_string().contains("let b = a let c = b"));
    }

    #[test]
    fn rejects_what_is_not_a_fn() {
        let Err(error) = Func::parse(
            quote!(
                struct S;
            ),
            "#[session]",
            None,
        ) else {
            panic!("a struct parsed as a fn");
        };
        assert_eq!(
            error.to_string(),
            "`#[session]` goes on an `async fn` with a body"
        );
    }
}
