//! Step 2: the rules that involve more than one option, or the fn itself.
//!
//! Each rule records a precise error and says how far the expansion can still go
//! ([`Mode`]): the generated fn, or a stub with the callers' signature, chosen so that the only errors
//! the user sees are ours, not a cascade that follows from them.

use proc_macro2::{Span, TokenTree};
use syn::visit::Visit;
use syn::{
    Attribute, BoundLifetimes, GenericParam, Ident, Lifetime, ParenthesizedGenericArguments, Path,
    TraitBound, Type, TypeFnPtr, TypeImplTrait, TypeReference,
};

use crate::ast::{peel, Func, Param, Supplied};
use crate::attr::{Flavor, Macro, Options, Restart};
use crate::error::Errors;

/// How much of the expansion can be generated despite the errors found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    /// All of it (options in error are left at their defaults; a missing `async` is added).
    Expand,
    /// The generated fn's signature, with a body that type-checks the user's body without
    /// running it: what callers see does not change, so their code raises no new errors.
    Stub,
    /// A stub without the user's body: for a mistake in the body itself that type-checking
    /// it would report a second time (an untracked spawn of a session, which is not a
    /// future: E0277 at the same place). Its other errors show once this one is mended.
    Blind,
}

/// Checks `func` and `options` for `mac`.
pub(crate) fn validate(mac: Macro, options: &Options, func: &Func, errors: &mut Errors) -> Mode {
    let mut mode = Mode::Expand;
    check_runtime_options(mac, options, errors);
    check_restart_options(options, errors);
    if mac == Macro::Service {
        check_readiness_options(options, func, errors);
    }
    if let Some(error) = tokio_ran_first(mac, func) {
        errors.push(error);
        return Mode::Stub;
    }
    for attr in &func.attrs {
        if is_duplicate_entry_attr(mac, attr) {
            let what = if mac == Macro::Main {
                "builds the runtime and the root"
            } else {
                "already makes this fn a test"
            };
            errors.push(syn::Error::new_spanned(
                attr,
                format!("`{}` {what}: remove this attribute", mac.attr()),
            ));
        }
    }
    if let Some(error) = check_instrument(mac, func) {
        errors.push(error);
        mode = mode.max(Mode::Stub);
    }
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            format!("`{}` cannot be used on a `const fn`", mac.attr()),
        ));
        mode = mode.max(Mode::Stub);
    }
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "`{}` needs an `async fn`: add `async` before `fn`",
                mac.attr()
            ),
        ));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            format!("`{}` cannot be used on an `unsafe fn`", mac.attr()),
        ));
        mode = mode.max(Mode::Stub);
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            format!("`{}` cannot be used on an `extern` fn", mac.attr()),
        ));
        mode = mode.max(Mode::Stub);
    }
    if mac == Macro::Main && sig.ident != "main" {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            "`#[canstop::main]` goes on `fn main`; to run a tree from another fn, use `canstop::Root::new().block_on(..)`",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!(
                "`{}` fns cannot be generic{}",
                mac.attr(),
                generic_hint(mac)
            ),
        ));
        mode = mode.max(Mode::Stub);
    } else if let Some(clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            clause,
            format!("`{}` fns cannot have a `where` clause", mac.attr()),
        ));
        mode = mode.max(Mode::Stub);
    }
    if let Some(error) = check_receiver(mac, sig) {
        errors.push(error);
        mode = mode.max(Mode::Stub);
    }
    if let Some(error) = self_in_format_string(mac, options, func) {
        errors.push(error);
        mode = mode.max(Mode::Stub);
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            format!("`{}` fns cannot be variadic", mac.attr()),
        ));
        mode = mode.max(Mode::Stub);
    }
    match mac {
        Macro::Main | Macro::Test => {
            if let Some(error) = check_entry_params(mac, func) {
                errors.push(error);
                mode = mode.max(Mode::Stub);
            }
        }
        Macro::Service | Macro::Session => {
            mode = mode.max(check_supplied_params(mac, func, errors));
            // A session's `Ready` has its one error.
            let params = func
                .params
                .iter()
                .filter(|param| mac == Macro::Service || param.supplied != Some(Supplied::Ready));
            for param in params {
                if let Some((error, param_mode)) =
                    check_param_type(mac, &param.ty, options.krate.as_ref())
                {
                    errors.push(error);
                    mode = mode.max(param_mode);
                }
            }
        }
    }
    mode
}

/// `main` and tests take no parameters: one error, at the first `Ready` (which says that
/// readiness is a service's) or at them all.
fn check_entry_params(mac: Macro, func: &Func) -> Option<syn::Error> {
    // `params` are exactly the typed inputs.
    if func.params.is_empty() {
        return None;
    }
    let what = if mac == Macro::Main {
        "`fn main` takes no arguments"
    } else {
        "a test takes no arguments"
    };
    if let Some(ready) = func.ready_params().next() {
        return Some(syn::Error::new_spanned(
            param_tokens(ready),
            format!(
                "`Ready` belongs to services, and {what}: the tree is ready once the body has returned `Ok` and every service it started is ready (`canstop::ready()` waits for that)"
            ),
        ));
    }
    let hint = if func.shutdown_params().next().is_some() {
        "; the root's `Shutdown` is `canstop::scope()?.shutdown_signal()`"
    } else {
        ""
    };
    Some(syn::Error::new_spanned(
        &func.sig.inputs,
        format!("{what}{hint}"),
    ))
}

/// The parameters canstop supplies to a service or a session: one `Shutdown` and (for a
/// service) one `Ready` at most, neither under a `cfg`.
fn check_supplied_params(mac: Macro, func: &Func, errors: &mut Errors) -> Mode {
    let mut mode = Mode::Expand;
    if mac == Macro::Session {
        for ready in func.ready_params() {
            errors.push(syn::Error::new_spanned(
                param_tokens(ready),
                "`Ready` belongs to services: a session is not waited for to be ready (it is tracked until it ends); remove this parameter",
            ));
            mode = Mode::Stub;
        }
    }
    for what in Supplied::ALL {
        if mac == Macro::Session && what == Supplied::Ready {
            continue;
        }
        let name = what.type_name();
        // Whether the body takes a `Shutdown` decides how it stops (a body without one is
        // dropped at its stop), and whether it takes a `Ready` when it is ready: that cannot
        // depend on a cfg the macro cannot see.
        let decides = match what {
            Supplied::Shutdown => {
                "how it stops (without one, it is dropped at the stop); take it always, and ignore it where unused"
            }
            Supplied::Ready => {
                "when the service is ready (without one, as soon as its body is built); take it always, and set it where it is not used otherwise"
            }
        };
        for param in func.supplied_params(what) {
            if let Some(cfg) = param.attrs.iter().find(|attr| attr.path().is_ident("cfg")) {
                errors.push(syn::Error::new_spanned(
                    cfg,
                    format!("a `{name}` parameter cannot be conditional: whether the body takes one decides {decides}"),
                ));
                mode = Mode::Stub;
            }
        }
        for extra in func.supplied_params(what).skip(1) {
            errors.push(syn::Error::new_spanned(
                &extra.ty,
                format!("a second `{name}` parameter: canstop supplies one `{name}`; clone it in the body if you need two"),
            ));
        }
    }
    mode
}

/// A parameter as written, less its attributes: `ready: Ready`, for an error at it.
fn param_tokens(param: &Param) -> proc_macro2::TokenStream {
    let (pat, ty) = (&param.pat, &param.ty);
    quote::quote!(#pat: #ty)
}

/// `needs` and `ready_timeout` on a `#[service]`: the service does not need itself (by its
/// name, `name = "..."` or the fn's), and `ready_timeout` bounds a readiness that the body
/// says, so it needs a `Ready` parameter.
fn check_readiness_options(options: &Options, func: &Func, errors: &mut Errors) {
    let name = options.name_for(&func.sig.ident);
    let needs = options.needs.iter().flat_map(|needs| &needs.value);
    for need in needs.filter(|need| need.name == name) {
        let named = if options.name.is_some() {
            "its `name`"
        } else {
            "the fn's name, as no `name = \"...\"` is given"
        };
        errors.push(syn::Error::new(
            need.span,
            format!("the service {name:?} cannot need itself ({name:?} is {named}): `needs` names the siblings it waits for"),
        ));
    }
    if let Some(timeout) = &options.ready_timeout {
        if func.ready_params().next().is_none() {
            errors.push(timeout.error(
                "`ready_timeout` only applies to a service whose body says when it is ready: take a `Ready` parameter and call `ready.set()`, or remove `ready_timeout` (without one, the service is ready as soon as its body is built)",
            ));
        }
    }
}

/// `#[tokio::main]` or `#[tokio::test]` written above `main`'s or `test`'s attribute: it
/// ran first, and left a plain fn ([`Func::is_tokio_output`]).
fn tokio_ran_first(mac: Macro, func: &Func) -> Option<syn::Error> {
    let tokio = match mac {
        Macro::Main => "#[tokio::main]",
        Macro::Test => "#[tokio::test]",
        Macro::Service | Macro::Session => return None,
    };
    func.is_tokio_output().then(|| {
        syn::Error::new(
            Span::call_site(),
            format!(
                "`{tokio}` and `{attr}` both build the runtime: remove one (`{attr}` replaces `{tokio}`)",
                attr = mac.attr(),
            ),
        )
    })
}

/// A receiver: a service or a session takes `self: Arc<Self>` or `self`, not a borrow (its
/// body outlives the call); `main` and tests take none.
fn check_receiver(mac: Macro, sig: &syn::Signature) -> Option<syn::Error> {
    let receiver = sig.receiver()?;
    let borrowed = match &receiver.kind {
        syn::ReceiverKind::Reference(..) => true,
        syn::ReceiverKind::Typed(_, ty) => matches!(peel(ty), Type::Reference(_)),
        _ => false,
    };
    // `self: Rc<Self>`: never `Send`, which a body run on the runtime's threads must be.
    let rc = match &receiver.kind {
        syn::ReceiverKind::Typed(_, ty) => match peel(ty) {
            Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|last| last.ident == "Rc"),
            _ => false,
        },
        _ => false,
    };
    let message = match mac {
        Macro::Service | Macro::Session if borrowed => format!(
            "`{}` cannot borrow `self`: its body runs after the call that creates it has returned; take `self: Arc<Self>` (or `self`)",
            mac.attr()
        ),
        Macro::Service | Macro::Session if rc => format!(
            "`{}` cannot take `self: Rc<Self>`: its body runs on the runtime's threads and must be `Send`, which `Rc` is not; take `self: Arc<Self>`",
            mac.attr()
        ),
        Macro::Service | Macro::Session => return None,
        Macro::Main | Macro::Test => format!("`{}` cannot take `self`", mac.attr()),
    };
    Some(syn::Error::new_spanned(receiver, message))
}

impl Mode {
    /// Whether the generated fn is a stub, its body never run.
    pub(crate) fn is_stub(self) -> bool {
        self != Mode::Expand
    }
}

/// Whether `attr` is `#[tracing::instrument]` (or an `instrument` of another path): it goes on
/// the body, which it can wrap, not on the generated fn that only builds the service.
pub(crate) fn is_instrument(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|last| last.ident == "instrument")
}

/// `#[tracing::instrument]` instruments the body, which the generated code calls as an inner
/// fn; a body generated in place (a method, a body naming `Self`) has none to put it on.
fn check_instrument(mac: Macro, func: &Func) -> Option<syn::Error> {
    let attr = func.attrs.iter().find(|attr| is_instrument(attr))?;
    let in_place = matches!(mac, Macro::Service | Macro::Session) && func.body_in_place();
    in_place.then(|| {
        syn::Error::new_spanned(
            attr,
            format!(
                "`#[instrument]` cannot wrap the body of this `{}` (a method, or a body that \
                 names `Self` or the `impl`'s type parameter): call an instrumented `async fn` \
                 from it, or use \
                 `tracing::Instrument::instrument` on a future inside it",
                mac.attr()
            ),
        )
    })
}

/// Whether `attr` is a second entry point on the fn: `#[test]`, `#[tokio::test]` on a
/// `#[canstop::test]`; `#[tokio::main]` on a `#[canstop::main]`. (A second `#[service]` or
/// `#[session]` is found by what the first made, `Func::is_canstop_output`: an attribute
/// named `service` may be another crate's.)
pub(crate) fn is_duplicate_entry_attr(mac: Macro, attr: &Attribute) -> bool {
    let wanted = match mac {
        Macro::Main => "main",
        Macro::Test => "test",
        Macro::Service | Macro::Session => return false,
    };
    attr.path()
        .segments
        .last()
        .is_some_and(|last| last.ident == wanted)
}

fn generic_hint(mac: Macro) -> &'static str {
    match mac {
        Macro::Service => ": a service is started by value, with a concrete body; use concrete types or trait objects for its arguments",
        Macro::Session => ": a session is spawned by value, with a concrete body; use concrete types or trait objects for its arguments",
        Macro::Main | Macro::Test => "",
    }
}

fn check_runtime_options(mac: Macro, options: &Options, errors: &mut Errors) {
    let default = match mac {
        Macro::Main => Flavor::MultiThread,
        Macro::Test => Flavor::CurrentThread,
        Macro::Service | Macro::Session => return,
    };
    let flavor = options
        .flavor
        .as_ref()
        .map_or(default, |flavor| flavor.value);
    if let Some(workers) = &options.worker_threads {
        if flavor == Flavor::CurrentThread {
            let why = if options.flavor.is_some() {
                "with `flavor = \"current_thread\"` there are no worker threads"
            } else {
                "a test runs on a current-thread runtime unless it says `flavor = \"multi_thread\"`"
            };
            errors.push(workers.error(format!(
                "`worker_threads` needs the multi-thread runtime: {why}"
            )));
        }
    }
    if let Some(paused) = &options.start_paused {
        if paused.value && flavor == Flavor::MultiThread {
            errors.push(paused.error(
                "`start_paused = true` needs `flavor = \"current_thread\"`: tokio can pause the clock of a current-thread runtime only",
            ));
        }
    }
}

/// `max_restarts`, `within` and `backoff` tune a restart policy: without one, or with
/// `restart = "never"`, each is an error (and the expansion leaves it out). Not reported when
/// `restart` is written with a value in error, which has its own.
fn check_restart_options(options: &Options, errors: &mut Errors) {
    let why = match &options.restart {
        Some(restart) if restart.value != Restart::Never => return,
        Some(_) => "and `restart = \"never\"` restarts nothing",
        None if options.restart_written => return,
        None => "and there is none (the default is `restart = \"never\"`)",
    };
    let message = |key: &str| {
        format!(
            "`{key}` only applies with a restart policy, {why}: add `restart = \"on-failure\"` (or `\"always\"`), or remove `{key}`"
        )
    };
    let found = [
        options
            .max_restarts
            .as_ref()
            .map(|o| o.error(message("max_restarts"))),
        options.within.as_ref().map(|o| o.error(message("within"))),
        options
            .backoff
            .as_ref()
            .map(|o| o.error(message("backoff"))),
    ];
    for error in found.into_iter().flatten() {
        errors.push(error);
    }
}

/// A restarted method binds each instance's clone of `self` under another name and renames
/// the body's `self` to it (see `expand::Context::body_in_place`), but cannot rename the
/// `self` a format string captures (`"{self}"`, `"{self:?}"`): that one would move the
/// factory's own `self` into the first instance. One error, at the first such string.
fn self_in_format_string(mac: Macro, options: &Options, func: &Func) -> Option<syn::Error> {
    let restarted = options
        .restart
        .as_ref()
        .is_some_and(|restart| restart.value != Restart::Never);
    if mac != Macro::Service || !restarted || func.sig.receiver().is_none() || !func.body_parses {
        return None;
    }
    let mut found = None;
    crate::walk::walk(func.body.stream(), &mut |tokens, index| {
        if found.is_some() {
            return None;
        }
        if let TokenTree::Literal(literal) = &tokens[index] {
            if let syn::Lit::Str(string) = syn::Lit::new(literal.clone()) {
                if captures_self(&string.value()) {
                    found = Some(literal.span());
                }
            }
        }
        None
    });
    found.map(|span| {
        syn::Error::new(
            span,
            "a restarted method cannot capture `self` in a format string: each instance's `self` is a clone the macro binds under another name; pass it as an argument (`\"{}\", self`)",
        )
    })
}

/// Whether a format string captures `self` (see [`format_captures`]).
fn captures_self(literal: &str) -> bool {
    format_captures(literal, "self")
}

/// Whether a format string captures `name`: `{name}`, `{name:..}`, or `name$` as a width or
/// precision (`{:>name$}`), outside `{{` escapes.
pub(crate) fn format_captures(literal: &str, name: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut rest = literal;
    while let Some(at) = rest.find('{') {
        rest = &rest[at + 1..];
        if let Some(escaped) = rest.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let spec = rest.split('}').next().unwrap_or(rest);
        let (argument, format) = spec.split_once(':').unwrap_or((spec, ""));
        let in_format = format
            .split(|c: char| !is_word(c) && c != '$')
            .any(|part| part.strip_suffix('$') == Some(name));
        if argument.trim() == name || in_format {
            return true;
        }
    }
    false
}

/// Which of canstop's `Shutdown` and `Ready` (as [`crate::ast::is_supplied_type`]
/// recognises them) `ty` names.
fn supplied_type(ty: &Type, krate: Option<&Path>) -> Option<Supplied> {
    Supplied::ALL
        .into_iter()
        .find(|what| crate::ast::is_supplied_type(ty, *what, krate))
}

/// Whether `ty` is `Arc<T>`, `Box<T>` or `Rc<T>` (by any path to the pointer) of canstop's
/// `Shutdown` or `Ready`, and which.
fn supplied_in_pointer(ty: &Type, krate: Option<&Path>) -> Option<Supplied> {
    let Type::Path(path) = peel(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let pointer = ["Arc", "Box", "Rc"]
        .iter()
        .any(|pointer| last.ident == pointer);
    match (pointer, arguments.args.first(), arguments.args.len()) {
        (true, Some(syn::GenericArgument::Type(inner)), 1) => supplied_type(inner, krate),
        _ => None,
    }
}

/// What is wrong with a parameter's type, and how far the expansion can go with it.
fn check_param_type(mac: Macro, ty: &Type, krate: Option<&Path>) -> Option<(syn::Error, Mode)> {
    let what = if mac == Macro::Session {
        "a session's arguments must be owned: the session runs after the call that creates it has returned"
    } else {
        "a service's arguments must be owned: the service runs after the call that creates it has returned"
    };
    if let Type::Reference(reference) = peel(ty) {
        if let Some(what) = supplied_type(&reference.elem, krate) {
            let name = what.type_name();
            return Some((
                syn::Error::new_spanned(
                    ty,
                    format!("take `{name}` by value: canstop supplies an owned one (it is cheap to clone)"),
                ),
                Mode::Stub,
            ));
        }
    }
    if let Some(what) = supplied_in_pointer(ty, krate) {
        let name = what.type_name();
        return Some((
            syn::Error::new_spanned(
                ty,
                format!("take `{name}` by value: canstop supplies an owned one, and only by value (it is cheap to clone)"),
            ),
            Mode::Stub,
        ));
    }
    let mut finder = Finder::default();
    finder.visit_type(ty);
    let found = finder.found?;
    Some(match found {
        Found::Borrow(tokens) => (
            syn::Error::new_spanned(
                tokens,
                format!("{what}; pass an owned value (`String`, `Vec<T>`, `Arc<T>`) instead of a borrow"),
            ),
            Mode::Stub,
        ),
        Found::ImplTrait(tokens) => (
            syn::Error::new_spanned(
                tokens,
                format!(
                    "`impl Trait` arguments make the fn generic, which `{}` does not support; use a concrete type or `Box<dyn Trait + Send>`",
                    mac.attr()
                ),
            ),
            Mode::Stub,
        ),
    })
}

/// The first part of a type that makes it unfit for an argument of a service or session.
enum Found {
    /// A reference or a lifetime other than `'static`, unless bound by the type itself.
    Borrow(proc_macro2::TokenStream),
    ImplTrait(proc_macro2::TokenStream),
}

/// Looks for a [`Found`] in a type. A callable's own lifetimes are not borrows: the elided
/// ones in `Fn(&str) -> bool` sugar and in `fn(&[u8]) -> usize` pointers, and those bound by
/// `for<'a>`, are chosen at each call, so `Box<dyn Fn(&str) + Send>` is owned and `'static`.
#[derive(Default)]
struct Finder {
    found: Option<Found>,
    /// How many `Fn(..)` sugars or `fn(..)` pointer types enclose the current type.
    callables: usize,
    /// The lifetimes bound by the enclosing `for<..>`s.
    bound: Vec<Ident>,
}

impl Finder {
    /// Whether a reference with `lifetime` (`None`: elided), or the lifetime itself, borrows
    /// from the caller.
    fn borrows(&self, lifetime: Option<&Lifetime>) -> bool {
        match lifetime {
            None => self.callables == 0,
            Some(lifetime) if lifetime.ident == "static" => false,
            Some(lifetime) if lifetime.ident == "_" => self.callables == 0,
            Some(lifetime) => !self.bound.contains(&lifetime.ident),
        }
    }

    /// Visits `inner` with the lifetimes of `binder` bound.
    fn with_bound(&mut self, binder: Option<&BoundLifetimes>, inner: impl FnOnce(&mut Self)) {
        let before = self.bound.len();
        for param in binder.iter().flat_map(|binder| &binder.lifetimes) {
            if let GenericParam::Lifetime(param) = param {
                self.bound.push(param.lifetime.ident.clone());
            }
        }
        inner(self);
        self.bound.truncate(before);
    }
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_type_reference(&mut self, reference: &'ast TypeReference) {
        if self.borrows(reference.lifetime.as_ref()) && self.found.is_none() {
            self.found = Some(Found::Borrow(quote::quote!(#reference)));
        }
        syn::visit::visit_type_reference(self, reference);
    }

    fn visit_lifetime(&mut self, lifetime: &'ast Lifetime) {
        if self.borrows(Some(lifetime)) && self.found.is_none() {
            self.found = Some(Found::Borrow(quote::quote!(#lifetime)));
        }
    }

    fn visit_parenthesized_generic_arguments(
        &mut self,
        arguments: &'ast ParenthesizedGenericArguments,
    ) {
        self.callables += 1;
        syn::visit::visit_parenthesized_generic_arguments(self, arguments);
        self.callables -= 1;
    }

    fn visit_type_fn_ptr(&mut self, bare_fn: &'ast TypeFnPtr) {
        self.with_bound(bare_fn.lifetimes.as_ref(), |this| {
            this.callables += 1;
            syn::visit::visit_type_fn_ptr(this, bare_fn);
            this.callables -= 1;
        });
    }

    fn visit_trait_bound(&mut self, bound: &'ast TraitBound) {
        self.with_bound(bound.lifetimes.as_ref(), |this| {
            syn::visit::visit_trait_bound(this, bound);
        });
    }

    fn visit_type_impl_trait(&mut self, impl_trait: &'ast TypeImplTrait) {
        if self.found.is_none() {
            self.found = Some(Found::ImplTrait(quote::quote!(#impl_trait)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn check(mac: Macro, args: TokenStream, item: TokenStream) -> (Mode, Vec<String>) {
        let mut errors = Errors::default();
        let options = attr::parse(mac, args, &mut errors);
        let func = Func::parse(item, mac.attr(), options.krate.as_ref()).unwrap();
        let mode = validate(mac, &options, &func, &mut errors);
        (mode, errors.messages())
    }

    #[test]
    fn a_well_formed_fn_passes() {
        let (mode, errors) = check(
            Macro::Service,
            quote!(),
            quote!(
                async fn f(
                    s: Shutdown,
                    a: String,
                    b: &'static str,
                    c: Box<dyn Fn() + Send>,
                ) -> Result<(), E> {
                }
            ),
        );
        assert_eq!((mode, errors.len()), (Mode::Expand, 0), "{errors:?}");
    }

    #[test]
    fn a_missing_async_still_expands() {
        let (mode, errors) = check(
            Macro::Session,
            quote!(),
            quote!(
                fn f() {}
            ),
        );
        assert_eq!(mode, Mode::Expand);
        assert_eq!(
            errors,
            ["`#[session]` needs an `async fn`: add `async` before `fn`"]
        );
    }

    #[test]
    fn borrowed_arguments_are_stubbed() {
        for ty in [
            quote!(&str),
            quote!(Cow<'a, str>),
            quote!(Ref<'_, u8>),
            quote!(&mut Vec<u8>),
        ] {
            let (mode, errors) = check(Macro::Session, quote!(), quote!(async fn f(x: #ty) {}));
            assert_eq!(mode, Mode::Stub, "{ty}");
            assert!(
                errors[0].starts_with("a session's arguments must be owned"),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn callables_own_their_lifetimes() {
        for ty in [
            quote!(Box<dyn Fn(&str) -> bool + Send + Sync>),
            quote!(fn(&[u8]) -> usize),
            quote!(fn(&'_ str) -> Cow<'_, str>),
            quote!(Arc<dyn Fn(&mut Vec<u8>, &str) -> Option<&str> + Send + Sync>),
            quote!(Box<dyn for<'a> Fn(&'a str) -> &'a str + Send>),
            quote!(for<'a> fn(&'a u8, Ref<'a, u8>)),
            quote!(Box<dyn for<'a> Parser<'a> + Send>),
            quote!(Vec<fn(fn(&u8))>),
            quote!(&'static dyn Fn(&str)),
        ] {
            let (mode, errors) = check(Macro::Session, quote!(), quote!(async fn f(x: #ty) {}));
            assert_eq!((mode, errors.len()), (Mode::Expand, 0), "{ty}: {errors:?}");
        }
    }

    #[test]
    fn borrows_around_callables_are_still_borrows() {
        for (ty, at) in [
            (quote!(Box<dyn Fn(&str) + 'a>), "'a"),
            (quote!(Box<dyn Fn(&str) + '_>), "'_"),
            (quote!(&dyn Fn(&str)), "& dyn Fn (& str)"),
            (quote!(Box<dyn Fn(&'a str)>), "& 'a str"),
            (quote!(Box<dyn for<'b> Fn(&'b str, &'a str)>), "& 'a str"),
            (quote!(Box<dyn Fn(&str) -> Cow<'a, str>>), "'a"),
            (quote!(fn(&'a u8)), "& 'a u8"),
            (quote!(Vec<(fn(&u8), &u8)>), "& u8"),
            (quote!(Foo<'a>), "'a"),
        ] {
            let mut finder = Finder::default();
            finder.visit_type(&syn::parse2(ty.clone()).unwrap());
            let Some(Found::Borrow(found)) = finder.found else {
                panic!("{ty}: not a borrow");
            };
            assert_eq!(found.to_string(), at, "{ty}");
        }
    }

    #[test]
    fn self_in_the_body_is_allowed() {
        let (mode, errors) = check(
            Macro::Service,
            quote!(),
            quote!(
                async fn f(s: Shutdown) {
                    let port = Self::port();
                    let config: Self = <Self as Default>::default();
                }
            ),
        );
        assert_eq!((mode, errors.len()), (Mode::Expand, 0), "{errors:?}");
    }

    #[test]
    fn self_in_a_nested_item_is_its_own() {
        let (mode, errors) = check(
            Macro::Session,
            quote!(),
            quote!(
                async fn f() {
                    struct Local(u8);
                    impl Local {
                        fn new() -> Self {
                            Self(1)
                        }
                    }
                    trait Named {
                        fn name(&self) -> &Self;
                    }
                    enum E {
                        A(Box<Self>),
                    }
                    fn helper() -> Self {}
                    let _ = Local::new();
                    tokio::select! {
                        _ = async {} => {
                            struct Tuple(Box<Self>);
                            impl Tuple { fn new() -> Self { loop {} } }
                        }
                    }
                    println!("Self {}", 1);
                }
            ),
        );
        assert_eq!((mode, errors.len()), (Mode::Expand, 0), "{errors:?}");
    }

    #[test]
    fn owned_receivers_expand_borrowed_ones_are_stubbed() {
        for receiver in [quote!(self), quote!(mut self), quote!(self: Arc<Self>)] {
            let (mode, errors) = check(
                Macro::Service,
                quote!(),
                quote!(async fn f(#receiver, x: Self) {}),
            );
            assert_eq!((mode, errors.len()), (Mode::Expand, 0), "{errors:?}");
        }
        for receiver in [quote!(&self), quote!(&mut self), quote!(self: &Arc<Self>)] {
            let (mode, errors) = check(Macro::Session, quote!(), quote!(async fn f(#receiver) {}));
            assert_eq!(mode, Mode::Stub, "{receiver}");
            assert_eq!(
                errors,
                ["`#[session]` cannot borrow `self`: its body runs after the call that creates it has returned; take `self: Arc<Self>` (or `self`)"]
            );
        }
    }

    #[test]
    fn tokio_ran_first_is_one_error() {
        let (mode, errors) = check(
            Macro::Main,
            quote!(),
            quote!(
                #[tokio::test]
                fn main() {
                    let body = async {};
                    builder().block_on(body)
                }
            ),
        );
        assert_eq!(mode, Mode::Stub);
        assert_eq!(
            errors,
            ["`#[tokio::main]` and `#[canstop::main]` both build the runtime: remove one (`#[canstop::main]` replaces `#[tokio::main]`)"]
        );
    }

    #[test]
    fn restart_tuning_needs_a_restart_policy() {
        let item = quote!(
            async fn f(s: Shutdown) {}
        );
        let (mode, errors) = check(
            Macro::Service,
            quote!(max_restarts = 3, within = "1m", backoff = "1s..1m"),
            item.clone(),
        );
        assert_eq!(mode, Mode::Expand);
        assert_eq!(
            errors,
            ["max_restarts", "within", "backoff"].map(|key| format!(
                "`{key}` only applies with a restart policy, and there is none (the default is `restart = \"never\"`): add `restart = \"on-failure\"` (or `\"always\"`), or remove `{key}`"
            ))
        );
        let (_, errors) = check(
            Macro::Service,
            quote!(restart = "never", within = "1m"),
            item.clone(),
        );
        assert_eq!(
            errors,
            ["`within` only applies with a restart policy, and `restart = \"never\"` restarts nothing: add `restart = \"on-failure\"` (or `\"always\"`), or remove `within`"]
        );
        for restart in [quote!("on-failure"), quote!("always")] {
            let (_, errors) = check(
                Macro::Service,
                quote!(restart = #restart, max_restarts = 0, within = "1m", backoff = "1s..1m"),
                item.clone(),
            );
            assert!(errors.is_empty(), "{errors:?}");
        }
        // A `restart` in error has its own, and no follow-on.
        let (_, errors) = check(
            Macro::Service,
            quote!(restart = "on_failure", max_restarts = 3),
            item,
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("unknown restart policy"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_restarted_method_cannot_capture_self_in_a_format_string() {
        let item = quote!(
            async fn run(self: Arc<Self>) {
                println!("{{self}} {}", self);
                tracing::info!(port = self.port, "{self:?}");
            }
        );
        let (mode, errors) = check(Macro::Service, quote!(restart = "always"), item.clone());
        assert_eq!(mode, Mode::Stub);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("a restarted method cannot capture `self`"));
        for args in [quote!(), quote!(restart = "never")] {
            let (mode, errors) = check(Macro::Service, args, item.clone());
            assert_eq!((mode, errors.len()), (Mode::Expand, 0), "{errors:?}");
        }
        for (literal, captures) in [
            ("{self}", true),
            ("{ self }", true),
            ("{self:?}", true),
            ("{:>self$}", true),
            ("{0:.self$}", true),
            ("{{self}}", false),
            ("{selfish}", false),
            ("{} self", false),
            ("{my_self}", false),
        ] {
            assert_eq!(captures_self(literal), captures, "{literal:?}");
        }
    }

    #[test]
    fn ready_belongs_to_services() {
        let (mode, errors) = check(
            Macro::Service,
            quote!(),
            quote!(
                async fn f(ready: Ready, s: Shutdown, #[ready] up: Up) {}
            ),
        );
        assert_eq!(mode, Mode::Expand);
        assert_eq!(
            errors,
            ["a second `Ready` parameter: canstop supplies one `Ready`; clone it in the body if you need two"]
        );
        let (mode, errors) = check(
            Macro::Session,
            quote!(),
            quote!(
                async fn job(ready: Ready, other: &Ready, id: u32) {}
            ),
        );
        assert_eq!(mode, Mode::Stub);
        assert_eq!(
            errors,
            ["`Ready` belongs to services: a session is not waited for to be ready (it is tracked until it ends); remove this parameter"; 2]
        );
        let (mode, errors) = check(
            Macro::Main,
            quote!(),
            quote!(
                async fn main(s: Shutdown, ready: canstop::Ready) {}
            ),
        );
        assert_eq!(mode, Mode::Stub);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("`Ready` belongs to services, and `fn main` takes no arguments"),
            "{errors:?}"
        );
        for (ty, expected) in [
            (quote!(&Ready), "take `Ready` by value: canstop supplies an owned one (it is cheap to clone)"),
            (quote!(Arc<canstop::Ready>), "take `Ready` by value: canstop supplies an owned one, and only by value (it is cheap to clone)"),
        ] {
            let (mode, errors) = check(Macro::Service, quote!(), quote!(async fn f(r: #ty) {}));
            assert_eq!((mode, errors.as_slice()), (Mode::Stub, [expected.to_owned()].as_slice()));
        }
        let (_, errors) = check(
            Macro::Service,
            quote!(),
            quote!(
                async fn f(#[cfg(x)] ready: Ready) {}
            ),
        );
        assert!(
            errors[0].starts_with("a `Ready` parameter cannot be conditional"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_service_cannot_need_itself() {
        let item = quote!(
            async fn r#db(ready: Ready) {}
        );
        let (_, errors) = check(
            Macro::Service,
            quote!(needs = ["cache", "db"]),
            item.clone(),
        );
        assert_eq!(
            errors,
            ["the service \"db\" cannot need itself (\"db\" is the fn's name, as no `name = \"...\"` is given): `needs` names the siblings it waits for"]
        );
        let (_, errors) = check(
            Macro::Service,
            quote!(name = "primary", needs = ["db", "primary"]),
            item.clone(),
        );
        assert_eq!(
            errors,
            ["the service \"primary\" cannot need itself (\"primary\" is its `name`): `needs` names the siblings it waits for"]
        );
        let (_, errors) = check(
            Macro::Service,
            quote!(name = "primary", needs = ["db"]),
            item,
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn ready_timeout_needs_a_ready_parameter() {
        let (mode, errors) = check(
            Macro::Service,
            quote!(ready_timeout = "5s"),
            quote!(
                async fn f(s: Shutdown) {}
            ),
        );
        assert_eq!(mode, Mode::Expand);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(
                "`ready_timeout` only applies to a service whose body says when it is ready"
            ),
            "{errors:?}"
        );
        let (_, errors) = check(
            Macro::Service,
            quote!(ready_timeout = "5s"),
            quote!(
                async fn f(ready: Ready) {}
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn runtime_options_are_checked_together() {
        let (_, errors) = check(
            Macro::Test,
            quote!(worker_threads = 2),
            quote!(
                async fn t() {}
            ),
        );
        assert!(
            errors[0].contains("unless it says `flavor = \"multi_thread\"`"),
            "{errors:?}"
        );
        let (_, errors) = check(
            Macro::Test,
            quote!(flavor = "multi_thread", start_paused = true),
            quote!(
                async fn t() {}
            ),
        );
        assert!(
            errors[0].starts_with("`start_paused = true` needs"),
            "{errors:?}"
        );
        let (_, errors) = check(
            Macro::Main,
            quote!(worker_threads = 2),
            quote!(
                async fn main() {}
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }
}
