//! `mizan-local`: the local runner and admin tool. Everything lives in the library.

/// The runner's requests allocate and free many small buffers across threads (parsed payloads,
/// records, their JSON): glibc's malloc and free took about 13% of its CPU under the load bench.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mizan_local::main()
}
