//! `mizan-local`: the local runner and admin tool. Everything lives in the library.

fn main() -> std::process::ExitCode {
    mizan_local::main()
}
