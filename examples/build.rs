//! The grpc example's service, declared in Rust with tonic-build's manual builder instead of a
//! `.proto` file: no protoc needed. Its messages are in src/grpc.rs; this writes the server
//! (`greeter_server`) and the client (`greeter_client`) to `$OUT_DIR/example.Greeter.rs`,
//! which src/grpc.rs includes.

use tonic_build::manual::{Builder, Method, Service};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let method = |name: &str, route: &str, input: &str, output: &str| {
        Method::builder()
            .name(name)
            .route_name(route)
            .input_type(format!("crate::grpc::{input}"))
            .output_type(format!("crate::grpc::{output}"))
            .codec_path("tonic_prost::ProstCodec")
    };
    let greeter = Service::builder()
        .name("Greeter")
        .package("example")
        .method(method("say_hello", "SayHello", "HelloRequest", "HelloReply").build())
        .method(
            method("ticks", "Ticks", "TicksRequest", "Tick")
                .server_streaming()
                .build(),
        )
        .build();
    // The client is given its channel (tonic's `transport` is the tests' and the client's).
    Builder::new().build_transport(false).compile(&[greeter]);
}
