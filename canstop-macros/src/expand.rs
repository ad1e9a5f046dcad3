//! Step 3: the generated code.
//!
//! The user's fn is kept, unchanged but for a forced `async` (and its name, where it must
//! change: see [`Context::body_ident`]), as an item inside the generated fn (a method, or a
//! fn naming `Self`, has its body generated in place instead: see [`Context::future`]): its signature,
//! its `?`s, its return type and every error in its body stay the user's. The generated fn has the user's name, visibility,
//! attributes and docs, takes the caller's arguments (not the `Shutdown`) and returns the
//! value canstop runs. A restarted service (`restart = "on-failure"` or `"always"`) is built
//! from a factory that clones the caller's arguments for each instance: see
//! [`Context::again`]. Everything is named through `::canstop` (or the `crate = "..."` path),
//! `::core` and `::std`, so a user's `mod tokio` or `mod tracing` changes nothing.

use std::time::Duration;

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Token};

use crate::ast::{Func, Param, Supplied};
use crate::attr::{Flavor, Macro, Options, Restart};
use crate::valid::{is_duplicate_entry_attr, is_instrument, Mode};

/// The expansion of `mac` on `func`, as far as `mode` allows.
pub(crate) fn expand(mac: Macro, options: &Options, func: &Func, mode: Mode) -> TokenStream {
    let krate = options.krate_tokens();
    let context = Context {
        mac,
        options,
        func,
        mode,
        krate,
    };
    match mac {
        Macro::Main => context.main(),
        Macro::Test => context.test(),
        Macro::Service => context.service(),
        Macro::Session => context.session(),
    }
}

struct Context<'a> {
    mac: Macro,
    options: &'a Options,
    func: &'a Func,
    mode: Mode,
    krate: TokenStream,
}

impl Context<'_> {
    /// The name of the inner fn: the user's, so that the compiler's messages about it
    /// (`future returned by `accept` is not `Send``) name the user's fn; but a fixed one when
    /// the name is taken inside the generated fn, where the inner fn would shadow it:
    ///
    /// - by a parameter (`async fn request(request: u64)`): the generated call passes the
    ///   parameter by its name, which would then be the inner fn;
    /// - by the body (a session that spawns more of its kind, a nested item of that name, a
    ///   format string's `{request}`): the body must still see the generated fn, or its own.
    fn body_ident(&self) -> Ident {
        let ident = &self.func.sig.ident;
        let block = &self.func.body;
        let in_params = self.func.sig.inputs.iter().any(|arg| match arg {
            syn::FnArg::Typed(typed) => {
                let pat = &typed.pat;
                mentions(quote!(#pat), ident)
            }
            syn::FnArg::Receiver(_) => false,
        });
        if in_params || mentions(quote!(#block), ident) {
            Ident::new("__canstop_body", ident.span())
        } else {
            ident.clone()
        }
    }

    /// [`body_ident`](Self::body_ident) spanned at `span`, for a call whose type errors
    /// should point there.
    fn body_ident_at(&self, span: Span) -> Ident {
        let mut ident = self.body_ident();
        ident.set_span(span);
        ident
    }

    /// `::canstop`, or the `crate = "..."` path, spanned at `span` where it is the default:
    /// the compiler reports an unmet bound of a call at the path of the fn called.
    fn krate_at(&self, span: Span) -> TokenStream {
        match &self.options.krate {
            Some(path) => quote!(#path),
            None => quote_spanned!(span=> ::canstop),
        }
    }

    /// The user's fn, renamed, made `async` where it was not (an error has been reported),
    /// and unused (so allowed to be) in a stub.
    /// Nothing for a body generated in place ([`in_place`](Self::in_place)), nor for a
    /// `main` or a test that takes `self` (an error has been reported: a stub).
    fn inner(&self) -> TokenStream {
        if self.in_place() || self.func.sig.receiver().is_some() || self.mode == Mode::Blind {
            return TokenStream::new();
        }
        let mut sig = self.func.sig.clone();
        sig.ident = self.body_ident();
        if sig.asyncness.is_none() {
            sig.asyncness = Some(Token![async](sig.fn_token.span));
        }
        sig.constness = None;
        sig.abi = None;
        let block = &self.func.body;
        let allow = (self.mode.is_stub()).then(|| quote!(#[allow(dead_code)]));
        // `#[tracing::instrument]` wraps the body (the generated fn only builds the service),
        // its span named after the user's fn, not the inner one.
        let instrument = self
            .func
            .attrs
            .iter()
            .filter(|attr| is_instrument(attr))
            .map(|attr| named_span(attr, &self.func.sig.ident));
        // The macro requires `async`, so a body without `.await` is not the user's mistake.
        quote!(#(#instrument)* #allow #[allow(clippy::unused_async)] #sig #block)
    }

    /// Whether the body is generated in place ([`Func::body_in_place`]): for a service or a
    /// session only; `main` and tests are never methods, and their params are an error.
    fn in_place(&self) -> bool {
        matches!(self.mac, Macro::Service | Macro::Session)
            && (self.func.body_in_place() || self.sendable_in_place())
    }

    /// Whether this is a session without a `Shutdown` parameter whose body goes in place
    /// although an inner fn could hold it: its future is then an `async` block of the
    /// generated fn, and a body that is not `Send` is one error (at the attribute) that names
    /// the value held across the `.await` (an inner `async fn`'s opaque future would be
    /// reported a second time, at the fn's return type: see canstop's `session/judged.rs`).
    /// Not with `#[instrument]`, which needs the inner fn to wrap.
    fn sendable_in_place(&self) -> bool {
        self.mac == Macro::Session
            && self.func.shutdown_params().next().is_none()
            && self.typed_output().is_some()
            && !self.func.attrs.iter().any(is_instrument)
    }

    /// The user's attributes, less a second entry point (reported as an error) and
    /// `#[instrument]` (which goes on the body: [`inner`](Self::inner)).
    fn attrs(&self) -> impl Iterator<Item = &syn::Attribute> {
        self.func
            .attrs
            .iter()
            .filter(|attr| !is_duplicate_entry_attr(self.mac, attr) && !is_instrument(attr))
    }

    /// `.timeout(..)` with the `timeout` option, for a `Root` or a `Service`.
    fn timeout_call(&self) -> Option<TokenStream> {
        let timeout = duration(self.options.timeout.as_ref()?.value);
        Some(quote!(.timeout(#timeout)))
    }

    /// `.strategy(..)` with the `strategy` option, for a `Root` or a `Service`.
    fn strategy_call(&self) -> Option<TokenStream> {
        let strategy = self.options.strategy.as_ref()?;
        let (krate, variant) = (&self.krate, variant(strategy.value.variant()));
        Some(quote!(.strategy(#krate::Strategy::#variant)))
    }

    /// `.stop_order(..)` with the `stop_order` option, for a `Root` or a `Service`.
    fn stop_order_call(&self) -> Option<TokenStream> {
        let order = self.options.stop_order.as_ref()?;
        let (krate, variant) = (&self.krate, variant(order.value.variant()));
        Some(quote!(.stop_order(#krate::StopOrder::#variant)))
    }

    /// `.needs([..])`, `.ready_timeout(..)` and `.signals_ready()` (for a body that takes a
    /// `Ready`), for a `Service`.
    fn readiness_calls(&self) -> TokenStream {
        let mut calls = TokenStream::new();
        // `needs = []` (an edit under way, or names all in error) needs nothing: no call,
        // whose empty array would leave its element type to infer.
        if let Some(needs) = self.options.needs.as_ref().filter(|n| !n.value.is_empty()) {
            let names = needs.value.iter().map(|need| need.name.as_str());
            calls.extend(quote!(.needs([#(#names),*])));
        }
        if let Some(timeout) = &self.options.ready_timeout {
            let timeout = duration(timeout.value);
            calls.extend(quote!(.ready_timeout(#timeout)));
        }
        if self.func.ready_params().next().is_some() {
            calls.extend(quote!(.signals_ready()));
        }
        calls
    }

    /// The root of `#[canstop::main]` and `#[canstop::test]`.
    fn root(&self) -> TokenStream {
        let krate = &self.krate;
        let mut root = quote!(#krate::Root::new());
        root.extend(self.timeout_call());
        if let Some(delay) = &self.options.drain_delay {
            let delay = duration(delay.value);
            root.extend(quote!(.drain_delay(#delay)));
        }
        root.extend(self.strategy_call());
        root.extend(self.stop_order_call());
        if self.mac == Macro::Main {
            match self.flavor() {
                Flavor::CurrentThread => root.extend(quote!(.current_thread())),
                Flavor::MultiThread => {
                    if let Some(workers) = &self.options.worker_threads {
                        let workers = workers.value;
                        root.extend(quote!(.worker_threads(#workers)));
                    }
                }
            }
            if let Some(health) = &self.options.health {
                // Through a fn whose bound names canstop's `health` feature: without it, the
                // one error says to enable it, at the option.
                let addr = socket_addr(health.value);
                let krate = respanned(krate.clone(), health.span());
                root = quote_spanned! {health.span()=>
                    #krate::__private::health::<#krate::__private::HealthFeature>(#root, #addr)
                };
            }
        }
        root
    }

    fn flavor(&self) -> Flavor {
        let default = if self.mac == Macro::Test {
            Flavor::CurrentThread
        } else {
            Flavor::MultiThread
        };
        self.options
            .flavor
            .as_ref()
            .map_or(default, |flavor| flavor.value)
    }

    /// The span the runtime's type errors about the body's result are reported at: the
    /// user's return type, or the fn's name when there is none.
    fn output_span(&self) -> Span {
        match &self.func.sig.output {
            syn::ReturnType::Type(_, ty) => ty.span(),
            syn::ReturnType::Default => self.func.sig.ident.span(),
        }
    }

    /// The generated fn: the user's attributes, visibility, `fn` token, name and braces (so
    /// that lints such as `dead_code` see the user's item), around `params`, `output` and
    /// `body`.
    fn item(&self, params: &TokenStream, output: &TokenStream, body: &TokenStream) -> TokenStream {
        let func = self.func;
        let attrs = self.attrs();
        let vis = &func.vis;
        let fn_token = &func.sig.fn_token;
        let ident = &func.sig.ident;
        // Empty but in a stub (generics are an error): the stub keeps the caller's view.
        let (generics, where_clause) = if matches!(self.mac, Macro::Service | Macro::Session) {
            (&func.sig.generics, &func.sig.generics.where_clause)
        } else {
            (&syn::Generics::default(), &None)
        };
        let inner = self.inner();
        let body = quote_spanned! {func.body.span()=> {
            #inner
            #body
        }};
        quote! {
            #(#attrs)*
            #vis #fn_token #ident #generics (#params) #output #where_clause #body
        }
    }

    fn main(&self) -> TokenStream {
        let body = if self.mode.is_stub() {
            quote!(::std::process::ExitCode::FAILURE)
        } else {
            let root = self.root();
            let call = self.body_ident_at(self.output_span());
            let krate = self.krate_at(self.output_span());
            quote_spanned!(self.output_span()=> #krate::__private::main(#root, #call()))
        };
        self.item(
            &TokenStream::new(),
            &quote!(-> ::std::process::ExitCode),
            &body,
        )
    }

    fn test(&self) -> TokenStream {
        let krate = &self.krate;
        let body = if self.mode.is_stub() {
            TokenStream::new()
        } else {
            let root = self.root();
            let multi_thread = self.flavor() == Flavor::MultiThread;
            let workers = match &self.options.worker_threads {
                Some(workers) => {
                    let workers = workers.value;
                    quote!(::core::option::Option::Some(#workers))
                }
                None => quote!(::core::option::Option::None),
            };
            let paused = self.options.start_paused.as_ref().filter(|p| p.value);
            // The paused clock needs canstop's `test-util` feature: say so at compile time.
            let needs_test_util = paused.map(|paused| {
                quote_spanned! {paused.span()=>
                    const _: () = ::core::assert!(
                        #krate::__private::TEST_UTIL,
                        "`start_paused = true` needs canstop's `test-util` feature \
                         (`features = [\"test-util\"]` on the canstop dependency)",
                    );
                }
            });
            let paused = paused.is_some();
            let call = self.body_ident_at(self.output_span());
            let at = self.krate_at(self.output_span());
            let runtime = quote!(#krate::__private::test_runtime(#multi_thread, #workers, #paused));
            let run =
                quote_spanned!(self.output_span()=> #at::__private::test(#runtime, #root, #call()));
            // Judged outside the runtime, at the test's fn: a failing test panics there.
            let passed = quote_spanned!(self.output_span()=> #at::__private::test_passed);
            quote! {
                #needs_test_util
                #passed(#run);
            }
        };
        let item = self.item(&TokenStream::new(), &TokenStream::new(), &body);
        quote! {
            #[::core::prelude::v1::test]
            #item
        }
    }

    /// The name a service or session is reported under.
    fn name(&self) -> String {
        self.options.name_for(&self.func.sig.ident)
    }

    /// The generated fn's parameters: the receiver, if any, and the caller's, under their
    /// outer names. A restarted service's receiver loses its `mut`: the generated fn only
    /// clones it, and each instance binds its clone `mut` ([`again`](Self::again)).
    fn outer_params(&self) -> TokenStream {
        let receiver = self.func.sig.receiver().map(|receiver| {
            let mut receiver = receiver.clone();
            if self.restart().is_some() {
                receiver.mutability = None;
            }
            quote!(#receiver,)
        });
        let params = self.func.caller_params().map(|param| {
            let (attrs, outer, ty) = (&param.attrs, &param.outer, &param.ty);
            quote!(#(#attrs)* #outer: #ty)
        });
        quote!(#receiver #(#params),*)
    }

    /// The hygienic name of the `Shutdown` canstop passes to the body closure.
    fn shutdown_ident() -> Ident {
        Ident::new("__canstop_shutdown", Span::mixed_site())
    }

    /// The hygienic name of the `Ready` the body closure takes from its `Shutdown`.
    fn ready_ident() -> Ident {
        Ident::new("__canstop_ready", Span::mixed_site())
    }

    /// The value the body gets for `param`: the caller's argument, or canstop's `Shutdown` or
    /// `Ready` converted to the parameter's type by `__private::SuppliedShutdown` or
    /// `__private::SuppliedReady`, which are implemented for canstop's type only: a parameter
    /// taken for canstop's (written `Shutdown`, or marked `#[shutdown]`; likewise `Ready`)
    /// whose type is another is one error, at its type.
    fn arg(&self, param: &Param) -> TokenStream {
        let Some(what) = param.supplied else {
            let outer = &param.outer;
            return quote!(#outer);
        };
        let (value, supplied) = match what {
            Supplied::Shutdown => (Self::shutdown_ident(), quote!(SuppliedShutdown)),
            Supplied::Ready => (Self::ready_ident(), quote!(SuppliedReady)),
        };
        let value = if self.func.supplied_params(what).count() > 1 {
            // Only after the error for the second one: keeps the rest error-free.
            quote!(::core::clone::Clone::clone(&#value))
        } else {
            quote!(#value)
        };
        let (ty, krate) = (&param.ty, &self.krate);
        quote_spanned!(ty.span()=> <#ty as #krate::__private::#supplied>::supplied(#value))
    }

    /// The body's future: a call of the inner fn, or, for a body that must stay in the
    /// `impl` ([`Func::body_in_place`]), an `async move` block that binds the parameters'
    /// patterns and runs the body, its output typed by the fn's return type (so that `?`
    /// and `.into()` infer as in the fn).
    fn future(&self) -> TokenStream {
        if !self.in_place() {
            let call = self.body_ident();
            let args = self.func.params.iter().map(|param| self.arg(param));
            return quote!(#call(#(#args),*));
        }
        // As rustc lowers an `async fn`: every argument is moved into the block before its
        // pattern binds it, so that what a pattern does not bind (`_`, `(a, _)`, `S { a, .. }`)
        // lives until the body's end, not only until the session is built.
        let lets = self.func.params.iter().enumerate().map(|(index, param)| {
            let (attrs, pat, ty, value) = (&param.attrs, &param.pat, &param.ty, self.arg(param));
            if is_plain_binding(pat) {
                return quote!(#(#attrs)* #[allow(clippy::shadow_same)] let #pat: #ty = #value;);
            }
            let held = Ident::new(&format!("__canstop_held{index}"), Span::mixed_site());
            quote! {
                #(#attrs)* let #held = #value;
                #(#attrs)* let #pat: #ty = #held;
            }
        });
        // The body's value is bound before the block ends, so that the temporaries of its
        // tail expression (a `MutexGuard` of a parameter's) are dropped before the parameters
        // are, as in an `async fn` (edition 2021 keeps them to the end of the enclosing block).
        // Typed, so that a tail of the wrong type is reported where it is written.
        let output_ident = Ident::new("__canstop_output", Span::mixed_site());
        let body = self.body_in_place();
        // A body that never ends (a `loop`) makes what follows it unreachable: that is this
        // code's, not the user's, so it is allowed on the `return` only.
        let output = self.typed_output();
        let typed = output.as_ref().map(|output| quote!(: #output));
        let body = quote! {
            #[allow(clippy::diverging_sub_expression)]
            let #output_ident #typed = #body;
            #[allow(unreachable_code)]
            return #output_ident;
        };
        let Some(output) = output else {
            return quote_spanned!(self.func.body.span()=> async move { #(#lets)* #body });
        };
        // An `async` block takes its output type from its first `return` (or its tail): a
        // `return` of the fn's type comes first, never run, so that the user's `return`s and
        // `?`s are checked against the fn's type where they are written.
        let krate = &self.krate;
        let anchor = quote!(if false { return #krate::__private::output::<#output>(); });
        let future = quote_spanned!(self.func.body.span()=> async move { #anchor #(#lets)* #body });
        let typed = Ident::new("__canstop_typed", Span::mixed_site());
        quote! {{
            fn #typed<T, F: ::core::future::Future<Output = T>>(future: F) -> F {
                future
            }
            #typed::<#output, _>(#future)
        }}
    }

    /// The fn's return type, `()` when it has none; `None` when it mentions `impl`, which
    /// cannot be named elsewhere (an error has been reported, or rustc reports one).
    fn typed_output(&self) -> Option<TokenStream> {
        match &self.func.sig.output {
            syn::ReturnType::Default => Some(quote!(())),
            syn::ReturnType::Type(_, ty) => (!mentions_impl(quote!(#ty))).then(|| quote!(#ty)),
        }
    }

    /// The body, braces included, as [`future`](Self::future) generates it in place. In a
    /// restarted method, `self` is renamed to the receiver's clone that each instance binds
    /// ([`again`](Self::again)), as `async-trait` does: the factory is a closure, which cannot
    /// bind `self`. A path from `self` (`self::helper`), a `use` declaration, a nested item
    /// and `stringify!(..)` keep theirs.
    ///
    /// The braces are the user's, placed where they were, but resolved at the macro's site:
    /// rustc's `unused_braces` lint skips a block that comes from an expansion, and would
    /// otherwise say that a one-line body's braces, now inside the generated block, are
    /// unnecessary (and `cargo fix` would remove them).
    fn body_in_place(&self) -> TokenStream {
        let body = &self.func.body;
        let stream = if self.restart().is_none() || self.func.sig.receiver().is_none() {
            body.stream()
        } else {
            crate::walk::rewrite(body.stream(), &mut rename_self)
        };
        let mut placed = Group::new(body.delimiter(), stream);
        placed.set_span(body.span().resolved_at(Span::mixed_site()));
        quote!(#placed)
    }

    /// The restart policy of a restarted service: `restart` is given, and not `"never"` (a
    /// service with `restart = "never"` is built as one without `restart`, from a `FnOnce`
    /// body that needs no `Clone` argument). `None` in a stub.
    fn restart(&self) -> Option<Restart> {
        if self.mac != Macro::Service || self.mode.is_stub() {
            return None;
        }
        let restart = self.options.restart.as_ref()?.value;
        (restart != Restart::Never).then_some(restart)
    }

    /// What a restarted service's factory binds at each call, before it builds the body's
    /// future from them: a clone of the receiver (as [`self_ident`], `mut` where the receiver
    /// is) and of each caller argument (under its outer name, shadowing the one the factory
    /// owns). The clones are taken through `__private::RestartProbe`, which clones a `Clone`
    /// type and is one error, at the type, for any other, with the reason (even for a
    /// `Vec<T>` of a `T` that is not `Clone`). The `Shutdown` is not among them: each instance
    /// gets its own from canstop.
    fn again(&self) -> TokenStream {
        let krate = &self.krate;
        // `let <binding> = (&probe).again(&<value>);`, all of it at the type's first token
        // (the value too, resolved as before): the error is there, and only there.
        let clone = |attrs: &[syn::Attribute],
                     ty: &TokenStream,
                     binding: TokenStream,
                     value: &Ident| {
            let span = ty.span();
            let mut value = value.clone();
            value.set_span(value.span().located_at(span));
            let krate = self.krate_at(span);
            let again = quote_spanned!(span=> (&#krate::__private::RestartProbe::<#ty>::new()).again(&#value));
            quote!(#(#attrs)* let #binding = #again;)
        };
        let receiver = self.func.sig.receiver().map(|receiver| {
            let (mutability, token) = (&receiver.mutability, &receiver.self_token);
            let ty = match &receiver.kind {
                syn::ReceiverKind::Typed(_, ty) => quote!(#ty),
                // `self`, at the user's `self`; a borrowed `self` is a stub.
                _ => Ident::new("Self", token.span).into_token_stream(),
            };
            let this = self_ident(token.span);
            clone(
                &[],
                &ty,
                quote!(#mutability #this),
                &Ident::new("self", token.span),
            )
        });
        let args = self.func.caller_params().map(|param| {
            let (outer, ty) = (&param.outer, &param.ty);
            clone(&param.attrs, &quote!(#ty), quote!(#outer), outer)
        });
        let args: Vec<TokenStream> = args.collect();
        if receiver.is_none() && args.is_empty() {
            return TokenStream::new();
        }
        quote! {
            use #krate::__private::{CloneArg as _, NotCloneArg as _};
            #receiver #(#args)*
        }
    }

    /// `move |shutdown: Shutdown| <the body's future>`: the body canstop calls, once; for a
    /// restarted service, the factory canstop calls for each instance, which first binds
    /// the clones of its arguments ([`again`](Self::again)). A body that takes a `Ready`
    /// gets the one of the instance being built, taken from its `Shutdown` before its future
    /// is ([`Ready::of`](https://docs.rs/canstop/latest/canstop/struct.Ready.html#method.of)).
    fn body_closure(&self) -> TokenStream {
        let krate = &self.krate;
        let (shutdown, ready) = (Self::shutdown_ident(), Self::ready_ident());
        let takes_ready = self.func.ready_params().next().is_some();
        let binding = if self.func.shutdown_params().next().is_none() && !takes_ready {
            quote!(_)
        } else {
            quote!(#shutdown)
        };
        let take_ready = takes_ready.then(|| quote!(let #ready = #krate::Ready::of(&#shutdown);));
        let future = self.future();
        if self.restart().is_some() {
            let again = self.again();
            return quote!(move |#binding: #krate::Shutdown| { #take_ready #again #future });
        }
        match take_ready {
            Some(take_ready) => quote!(move |#binding: #krate::Shutdown| { #take_ready #future }),
            None => quote!(move |#binding: #krate::Shutdown| #future),
        }
    }

    /// A stub's body: the arguments used, and an empty body that never runs (the crate does
    /// not compile). A body generated in place is type-checked in an async closure that is
    /// never called (closures cannot take `impl Trait`: with those, it is left out).
    fn stub_body(&self) -> (TokenStream, TokenStream) {
        let krate = &self.krate;
        let uses = self.func.caller_params().map(|param| {
            let (attrs, outer) = (&param.attrs, &param.outer);
            quote!(#(#attrs)* let _ = &#outer;)
        });
        let mut prelude = quote!(#(#uses)*);
        let impl_in_params = self
            .func
            .params
            .iter()
            .any(|param| mentions_impl(param.ty.to_token_stream()));
        if self.mode == Mode::Blind {
            // The body is left out: its parameters' types are still named, so that what the
            // signature imports (`Shutdown`, a socket's type) is not reported unused.
            let types = self.func.params.iter().filter_map(|param| {
                let (attrs, ty) = (&param.attrs, &param.ty);
                (!mentions_impl(ty.to_token_stream()))
                    .then(|| quote!(#(#attrs)* let _: ::core::marker::PhantomData<#ty>;))
            });
            prelude.extend(quote!(#(#types)*));
        } else if self.in_place() && !impl_in_params {
            let params = self.func.params.iter().map(|param| {
                let (attrs, pat, ty) = (&param.attrs, &param.pat, &param.ty);
                quote!(#(#attrs)* #pat: #ty)
            });
            let output = self.typed_output().map(|output| quote!(-> #output));
            let body = &self.func.body;
            prelude.extend(quote!(let _ = async move |#(#params),*| #output #body;));
        }
        // A session's stub has the fn's output, so that the error reported is the only one
        // (a stub of `()` would not be the `Session` of that output the signature promises).
        let closure = match (self.mac, self.typed_output()) {
            (Macro::Session, Some(output)) => {
                quote!(|_: #krate::Shutdown| ::core::future::pending::<#output>())
            }
            _ => quote!(|_: #krate::Shutdown| async {}),
        };
        (prelude, closure)
    }

    /// The builder calls after `Service::new` or `Service::restartable`: the restart policy and
    /// what tunes it (only with a policy: [`crate::valid`] reports them otherwise), `needs`,
    /// `ready_timeout` and `.signals_ready()` for a body that takes a `Ready`, `strategy`,
    /// `stop_order`, `timeout`, and `.cancel_on_stop()` for a body without `Shutdown`.
    fn service_options(&self) -> TokenStream {
        let krate = &self.krate;
        let mut calls = TokenStream::new();
        if let Some(restart) = self.restart() {
            let policy = variant(restart.variant());
            calls.extend(quote!(.restart(#krate::Restart::#policy)));
            if let Some(max) = &self.options.max_restarts {
                let max = max.value;
                calls.extend(quote!(.max_restarts(#max)));
            }
            if let Some(within) = &self.options.within {
                let within = duration(within.value);
                calls.extend(quote!(.within(#within)));
            }
            if let Some(backoff) = &self.options.backoff {
                let first = duration(backoff.value.first);
                let cap = duration(backoff.value.cap);
                calls.extend(quote!(.backoff(#first, #cap)));
            }
        }
        calls.extend(self.readiness_calls());
        calls.extend(self.strategy_call());
        calls.extend(self.stop_order_call());
        calls.extend(self.timeout_call());
        if self.func.shutdown_params().next().is_none() {
            calls.extend(quote!(.cancel_on_stop()));
        }
        calls
    }

    fn service(&self) -> TokenStream {
        let krate = &self.krate;
        let name = self.name();
        let (prelude, closure, options) = if self.mode.is_stub() {
            let (uses, closure) = self.stub_body();
            (uses, closure, TokenStream::new())
        } else {
            (
                TokenStream::new(),
                self.body_closure(),
                self.service_options(),
            )
        };
        let at = self.krate_at(self.output_span());
        let constructor = if self.restart().is_some() {
            quote!(restartable)
        } else {
            quote!(new)
        };
        let new = quote_spanned!(self.output_span()=> #at::Service::#constructor(#name, #closure));
        self.item(
            &self.outer_params(),
            &quote!(-> #krate::Service),
            &quote!(#prelude #new #options),
        )
    }

    fn session(&self) -> TokenStream {
        let krate = &self.krate;
        let ident = &self.func.sig.ident;
        let name = self.name();
        let at = self.krate_at(self.output_span());
        // No `Shutdown` wanted: the body's future itself, which spares the spawn making one.
        let wants_shutdown = self.func.shutdown_params().next().is_some();
        // The output's bound is checked once, at the return type (an error type that is not
        // `Display` is named there), on the body itself: see canstop's `session/judged.rs`.
        // Located at the return type, in the body's hygiene (an argument joining two
        // contexts would be located at the attribute).
        let at_output = Span::mixed_site().located_at(self.output_span());
        let body = Ident::new("__canstop_body", at_output);
        // The output type named in the turbofish, so that the error underlines all of it.
        let output = self.typed_output();
        let check = |check: &str, turbofish: TokenStream| {
            let check = Ident::new(check, self.output_span());
            quote_spanned!(at_output=> #at::__private::#check::<#turbofish>(&#body);)
        };
        let (prelude, closure) = match output {
            _ if self.mode.is_stub() => self.stub_body(),
            // A closure that takes the `Shutdown`: its bounds are the blanket impl's, whose
            // error for a body that is not `Send` names the value held across the `.await`.
            Some(output) if wants_shutdown => {
                let made = self.body_closure();
                let check = check("session_output_of", quote!(_, _, #output));
                (quote!(let #body = #made; #check), quote!(#body))
            }
            // The body's future: judged, so that an output that cannot end a session is one
            // error, the check's.
            Some(output) => {
                let made = self.future();
                let check = check("session_output", quote!(_, #output));
                let judge = Ident::new("__canstop_judge", Span::mixed_site());
                let prelude = quote! {
                    let #body = #made;
                    #check
                    let #judge = {
                        use #krate::__private::{ViaBodyResult as _, ViaNothing as _};
                        (&&#krate::__private::Probe::<#output>::new()).judge()
                    };
                };
                // Its `Send` bound checked here (see `sendable_in_place`).
                let judged = if self.in_place() {
                    quote_spanned! {ident.span()=>
                        #krate::__private::judged_future(#body, #judge)
                    }
                } else {
                    quote! {
                        #krate::__private::Judged::new(#krate::FutureBody::new(#body), #judge)
                    }
                };
                (prelude, judged)
            }
            // `-> impl ..`, an error reported already.
            None if wants_shutdown => (TokenStream::new(), self.body_closure()),
            None => {
                let future = self.future();
                (TokenStream::new(), quote!(#krate::FutureBody::new(#future)))
            }
        };
        // The kind is located at the fn's name.
        let kind = quote_spanned! {ident.span()=>
            #krate::SessionKind::new(#name, ::core::file!(), ::core::line!(), ::core::column!())
        };
        let new = quote_spanned!(self.output_span()=> #at::Session::with_kind(#kind, #closure));
        // The body's output is named, so that a spawn's handle gives the session's value.
        let output = match &self.func.sig.output {
            syn::ReturnType::Type(_, ty) => quote!(#ty),
            syn::ReturnType::Default => quote!(()),
        };
        // The body's bounds (`Send`, its result) are checked once, at this opaque type, which
        // is spanned at the fn's name: a body that is not `Send` gets one error there.
        let body = quote_spanned!(ident.span()=> impl #krate::SessionBody<Output = #output>);
        self.item(
            &self.outer_params(),
            &quote!(-> #krate::Session<#body>),
            &quote!(#prelude #new),
        )
    }
}

/// `::core::time::Duration::from_millis(..)` for `duration` (the grammar has no unit below
/// the millisecond).
fn duration(duration: Duration) -> TokenStream {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    quote!(::core::time::Duration::from_millis(#millis))
}

/// Whether `pat` binds the whole value by move (`name`, `mut name`): its `let` moves the
/// argument into the body, as the argument itself would be.
fn is_plain_binding(pat: &syn::Pat) -> bool {
    matches!(pat, syn::Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none())
}

/// `tokens`, every one located at `span` (for an error about them to point there), each
/// resolved as before.
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(group.span().located_at(span));
                token = TokenTree::Group(inner);
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}

/// The expression of a socket address checked at compile time.
fn socket_addr(addr: std::net::SocketAddr) -> TokenStream {
    let port = addr.port();
    match addr {
        std::net::SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            quote!(::core::net::SocketAddr::from(([#a, #b, #c, #d], #port)))
        }
        std::net::SocketAddr::V6(v6) => {
            let bits = u128::from(*v6.ip());
            let (flow, scope) = (v6.flowinfo(), v6.scope_id());
            quote!(::core::net::SocketAddr::V6(::core::net::SocketAddrV6::new(
                ::core::net::Ipv6Addr::from(#bits),
                #port,
                #flow,
                #scope,
            )))
        }
    }
}

/// A variant of `canstop::Restart` or `canstop::Strategy`.
fn variant(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The binding of a restarted method's receiver clone, which its body's `self` is renamed to
/// (at `span`, the `self` it replaces or the receiver's).
fn self_ident(span: Span) -> Ident {
    Ident::new("__canstop_self", span)
}

/// For [`crate::walk::rewrite`]: `self` as a value becomes [`self_ident`]; a `self::` path and
/// a `use` declaration (`use self::x`, `use a::{self}`) are kept as they are.
fn rename_self(tokens: &[TokenTree], index: usize) -> Option<(TokenStream, usize)> {
    let TokenTree::Ident(ident) = &tokens[index] else {
        return None;
    };
    if ident == "use" {
        let end = tokens[index..]
            .iter()
            .position(|token| matches!(token, TokenTree::Punct(punct) if punct.as_char() == ';'))
            .map_or(tokens.len(), |at| index + at + 1);
        return Some((tokens[index..end].iter().cloned().collect(), end));
    }
    let path = matches!(
        (tokens.get(index + 1), tokens.get(index + 2)),
        (Some(TokenTree::Punct(first)), Some(TokenTree::Punct(second)))
            if first.as_char() == ':' && first.spacing() == proc_macro2::Spacing::Joint && second.as_char() == ':'
    );
    (ident == "self" && !path).then(|| {
        let renamed = TokenTree::Ident(self_ident(ident.span()));
        (renamed.into(), index + 1)
    })
}

/// `attr` (an `#[instrument]`) with `name = "<ident>"` first among its arguments, unless it
/// names its span already: the span keeps the user's fn name when it moves to the inner fn.
fn named_span(attr: &syn::Attribute, ident: &Ident) -> TokenStream {
    // `r#type` is named `type`, as tracing names it.
    let name = syn::ext::IdentExt::unraw(ident).to_string();
    let path = attr.path();
    match &attr.meta {
        syn::Meta::List(list) if mentions_name(list.tokens.clone()) => quote!(#attr),
        syn::Meta::List(list) => {
            let tokens = &list.tokens;
            quote!(#[#path(name = #name, #tokens)])
        }
        _ => quote!(#[#path(name = #name)]),
    }
}

/// Whether an `#[instrument(..)]`'s arguments set `name`.
fn mentions_name(tokens: TokenStream) -> bool {
    let tokens: Vec<_> = tokens.into_iter().collect();
    tokens.windows(2).any(|pair| {
        matches!(&pair[0], proc_macro2::TokenTree::Ident(ident) if ident == "name")
            && matches!(&pair[1], proc_macro2::TokenTree::Punct(punct) if punct.as_char() == '=')
    })
}

/// Whether `tokens` (a type) mention `impl`: such a type cannot be named elsewhere.
fn mentions_impl(tokens: TokenStream) -> bool {
    mentions(tokens, &Ident::new("impl", Span::call_site()))
}

/// Whether `ident` occurs in `tokens`, macro arguments included, or may be named by one of
/// their string literals (see [`names_in_literal`]).
fn mentions(tokens: TokenStream, ident: &Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(other) => other == *ident,
        proc_macro2::TokenTree::Group(group) => mentions(group.stream(), ident),
        proc_macro2::TokenTree::Literal(literal) => match syn::Lit::new(literal) {
            syn::Lit::Str(string) => names_in_literal(&string.value(), &ident.unraw().to_string()),
            _ => false,
        },
        proc_macro2::TokenTree::Punct(_) => false,
    })
}

/// Whether the string `literal` may name `name`: as a format string's argument
/// (`"{name}"`, `"{name:?}"`, `"{:>name$}"`), or as a path, all of it (`"name"`,
/// `"self::name"`, as `#[serde(with = "..")]` takes). Prose that contains the word
/// (`"name failed"`) does not count, so that log messages do not cost the inner fn its name.
fn names_in_literal(literal: &str, name: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let is_path = !literal.is_empty()
        && literal.chars().all(|c| is_word(c) || c == ':')
        && literal.split("::").any(|segment| segment == name);
    is_path || crate::valid::format_captures(literal, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Func;
    use crate::attr::Options;

    fn body_ident(item: TokenStream) -> String {
        let func = Func::parse(item, "#[session]", None).unwrap();
        let context = Context {
            mac: Macro::Session,
            options: &Options::default(),
            func: &func,
            mode: Mode::Expand,
            krate: quote!(::canstop),
        };
        context.body_ident().to_string()
    }

    #[test]
    fn the_inner_fn_keeps_the_name_unless_it_is_taken() {
        for item in [
            quote!(
                async fn request(id: u64) {
                    println!("request {id} failed: see request_log");
                }
            ),
            quote!(
                async fn request(id: u64) {
                    let _ = "{requests}";
                }
            ),
        ] {
            assert_eq!(body_ident(item.clone()), "request", "{item}");
        }
        for item in [
            quote!(
                async fn request(request: u64) {}
            ),
            quote!(
                async fn request(Wrapper { request }: Wrapper) {}
            ),
            quote!(
                async fn request(id: u64) {
                    let _ = request(id + 1);
                }
            ),
            quote!(
                async fn request(request: u64) {
                    println!("handling {request}");
                }
            ),
            quote!(
                async fn request(id: u64) {
                    println!("{:>request$}", id);
                }
            ),
            quote!(
                async fn request(id: u64) {
                    #[derive(Deserialize)]
                    struct S(#[serde(with = "self::request")] u64);
                }
            ),
        ] {
            assert_eq!(body_ident(item.clone()), "__canstop_body", "{item}");
        }
    }

    fn expanded(mac: Macro, item: TokenStream) -> String {
        let func = Func::parse(item, mac.attr(), None).unwrap();
        expand(mac, &Options::default(), &func, Mode::Expand).to_string()
    }

    #[test]
    fn a_method_has_its_body_in_place() {
        let out = expanded(
            Macro::Service,
            quote!(
                async fn run(self: Arc<Self>, #[cfg(x)] port: u16, shutdown: Shutdown) {}
            ),
        );
        assert!(
            out.starts_with("fn run (self : Arc < Self > , # [cfg (x)] port : u16)"),
            "{out}"
        );
        assert!(!out.contains("async fn"), "{out}");
        assert!(
            out.contains("# [cfg (x)] # [allow (clippy :: shadow_same)] let port : u16 = port ;"),
            "{out}"
        );
        assert!(
            out.contains("__private :: SuppliedShutdown > :: supplied"),
            "{out}"
        );
    }

    #[test]
    fn a_fn_naming_an_impls_type_parameter_has_its_body_in_place() {
        for func in [
            quote!(
                async fn fill(items: Vec<T>) {}
            ),
            quote!(
                async fn fill(n: usize) {
                    let items: Vec<K> = Vec::new();
                }
            ),
        ] {
            let out = expanded(Macro::Service, func);
            assert!(!out.contains("async fn"), "{out}");
        }
        // Its own type parameter, or a longer name, keeps the inner fn.
        for func in [
            quote!(
                async fn fill<T: Send + 'static>(items: Vec<T>) {}
            ),
            quote!(
                async fn fill(items: Vec<Item>) {}
            ),
        ] {
            let out = expanded(Macro::Service, func);
            assert!(out.contains("async fn fill"), "{out}");
        }
    }

    #[test]
    fn a_free_fn_keeps_its_inner_fn() {
        for (mac, func) in [
            (
                Macro::Service,
                quote!(
                    async fn job(id: u32) {}
                ),
            ),
            (
                Macro::Session,
                quote!(
                    async fn job(id: u32, shutdown: Shutdown) {}
                ),
            ),
            (
                Macro::Session,
                quote!(
                    #[tracing::instrument]
                    async fn job(id: u32) {}
                ),
            ),
        ] {
            let out = expanded(mac, func);
            assert!(out.contains("async fn job (id : u32"), "{out}");
        }
    }

    /// A session without a `Shutdown` parameter: its body is an `async` block of the generated
    /// fn, whose `Send` bound `judged_future` checks (one error, naming the value).
    #[test]
    fn a_session_without_shutdown_has_its_body_in_place() {
        let out = expanded(
            Macro::Session,
            quote!(
                async fn job(id: u32) {}
            ),
        );
        assert!(!out.contains("async fn"), "{out}");
        assert!(out.contains("__private :: judged_future"), "{out}");
    }

    #[test]
    fn literals_name_what_a_format_string_or_a_path_can() {
        for (literal, names) in [
            ("{request}", true),
            ("{ request:?}", true),
            ("{0:request$}", true),
            ("{:.request$}", true),
            ("request", true),
            ("crate::request", true),
            ("request failed", false),
            ("{requests}", false),
            ("{my_request}", false),
            ("request_id", false),
            ("", false),
        ] {
            assert_eq!(names_in_literal(literal, "request"), names, "{literal:?}");
        }
    }

    /// The expansion of `mac` with the options `args`, which must parse.
    fn expanded_with(mac: Macro, args: TokenStream, item: TokenStream) -> String {
        let mut errors = crate::error::Errors::default();
        let options = crate::attr::parse(mac, args, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let func = Func::parse(item, mac.attr(), None).unwrap();
        expand(mac, &options, &func, Mode::Expand).to_string()
    }

    #[test]
    fn a_restarted_service_clones_its_arguments_for_each_instance() {
        let out = expanded_with(
            Macro::Service,
            quote!(
                restart = "on-failure",
                max_restarts = 5,
                within = "1m",
                backoff = "100ms..30s",
                strategy = "one_for_all"
            ),
            quote!(
                async fn worker(shutdown: Shutdown, addr: String) -> Result<(), Error> {
                    serve(addr).await
                }
            ),
        );
        let expected = quote! {
            fn worker(addr: String) -> ::canstop::Service {
                #[allow(clippy::unused_async)]
                async fn worker(shutdown: Shutdown, addr: String) -> Result<(), Error> {
                    serve(addr).await
                }
                ::canstop::Service::restartable("worker", move |__canstop_shutdown: ::canstop::Shutdown| {
                    use ::canstop::__private::{CloneArg as _, NotCloneArg as _};
                    let addr = (&::canstop::__private::RestartProbe::<String>::new()).again(&addr);
                    worker(<Shutdown as ::canstop::__private::SuppliedShutdown>::supplied(__canstop_shutdown), addr)
                })
                .restart(::canstop::Restart::OnFailure)
                .max_restarts(5u32)
                .within(::core::time::Duration::from_millis(60000u64))
                .backoff(
                    ::core::time::Duration::from_millis(100u64),
                    ::core::time::Duration::from_millis(30000u64)
                )
                .strategy(::canstop::Strategy::OneForAll)
            }
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn a_restarted_method_binds_a_clone_of_self_for_each_instance() {
        let out = expanded_with(
            Macro::Service,
            quote!(restart = "always"),
            quote!(
                async fn run(mut self, shutdown: Shutdown, port: u16) {
                    use self::config::Port;
                    self.port = port;
                    log!("{}", self.port);
                    self::helper(self);
                }
            ),
        );
        assert!(out.starts_with("fn run (self , port : u16)"), "{out}");
        for part in [
            "let mut __canstop_self = (& :: canstop :: __private :: RestartProbe :: < Self > :: new ()) . again (& self) ;",
            "let port = (& :: canstop :: __private :: RestartProbe :: < u16 > :: new ()) . again (& port) ;",
            "use self :: config :: Port ;",
            "__canstop_self . port = port ;",
            "log ! (\"{}\" , __canstop_self . port) ;",
            "self :: helper (__canstop_self) ;",
            ". restart (:: canstop :: Restart :: Always)",
        ] {
            assert!(out.contains(part), "{part}\n{out}");
        }
    }

    #[test]
    fn without_a_restart_policy_the_body_is_called_once() {
        let item = quote!(
            async fn run(self: Arc<Self>, shutdown: Shutdown, port: u16) {
                let _ = (self, port);
            }
        );
        let plain = expanded(Macro::Service, item.clone());
        assert!(plain.contains(":: canstop :: Service :: new"), "{plain}");
        assert!(!plain.contains("RestartProbe"), "{plain}");
        let never = expanded_with(Macro::Service, quote!(restart = "never"), item);
        assert_eq!(never, plain);
    }

    #[test]
    fn a_ready_is_taken_from_the_shutdown_when_the_body_is_built() {
        let out = expanded_with(
            Macro::Service,
            quote!(
                needs = ["db", "cache"],
                ready_timeout = "5s",
                stop_order = "reverse"
            ),
            quote!(
                async fn api(ready: Ready, port: u16) {
                    ready.set();
                }
            ),
        );
        let expected = quote! {
            fn api(port: u16) -> ::canstop::Service {
                #[allow(clippy::unused_async)]
                async fn api(ready: Ready, port: u16) {
                    ready.set();
                }
                ::canstop::Service::new("api", move |__canstop_shutdown: ::canstop::Shutdown| {
                    let __canstop_ready = ::canstop::Ready::of(&__canstop_shutdown);
                    api(<Ready as ::canstop::__private::SuppliedReady>::supplied(__canstop_ready), port)
                })
                .needs(["db", "cache"])
                .ready_timeout(::core::time::Duration::from_millis(5000u64))
                .signals_ready()
                .stop_order(::canstop::StopOrder::Reverse)
                .cancel_on_stop()
            }
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn each_restarted_instance_takes_its_own_ready() {
        let out = expanded_with(
            Macro::Service,
            quote!(restart = "on-failure"),
            quote!(
                async fn run(self: Arc<Self>, shutdown: Shutdown, #[ready] up: Up) {
                    up.set();
                }
            ),
        );
        for part in [
            ":: canstop :: Service :: restartable (\"run\" , move | __canstop_shutdown : :: canstop :: Shutdown | { let __canstop_ready = :: canstop :: Ready :: of (& __canstop_shutdown) ; use",
            "let up : Up = < Up as :: canstop :: __private :: SuppliedReady > :: supplied (__canstop_ready) ;",
            "let shutdown : Shutdown = < Shutdown as :: canstop :: __private :: SuppliedShutdown > :: supplied (__canstop_shutdown) ;",
            ". signals_ready ()",
        ] {
            assert!(out.contains(part), "{part}\n{out}");
        }
        assert!(!out.contains("cancel_on_stop"), "{out}");
        // The `let` that takes it is in the factory, not in the body's `async` block.
        let factory = out.find("Ready :: of").unwrap();
        let body = out.find("async move").unwrap();
        assert!(factory < body, "{out}");
    }

    #[test]
    fn a_service_without_ready_does_not_signal_it() {
        let out = expanded(
            Macro::Service,
            quote!(
                async fn run(shutdown: Shutdown) {}
            ),
        );
        assert!(!out.contains("signals_ready"), "{out}");
        assert!(!out.contains("Ready :: of"), "{out}");
    }

    #[test]
    fn stop_order_goes_to_the_root() {
        let out = expanded_with(
            Macro::Main,
            quote!(stop_order = "by-dependency"),
            quote!(
                async fn main() {}
            ),
        );
        assert!(
            out.contains(":: canstop :: Root :: new () . stop_order (:: canstop :: StopOrder :: ByDependency)"),
            "{out}"
        );
    }

    #[test]
    fn strategy_goes_to_the_root() {
        let out = expanded_with(
            Macro::Main,
            quote!(timeout = "5s", strategy = "rest_for_one"),
            quote!(
                async fn main() {}
            ),
        );
        assert!(
            out.contains(":: canstop :: Root :: new () . timeout (:: core :: time :: Duration :: from_millis (5000u64)) . strategy (:: canstop :: Strategy :: RestForOne)"),
            "{out}"
        );
    }
}
