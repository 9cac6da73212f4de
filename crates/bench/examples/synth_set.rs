//! Write the synthetic migration set the benchmarks use, to look at or to time by hand:
//! `cargo run -p bench --example synth_set -- DIR N` (N migrations; one table per five).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(n)) = (args.first(), args.get(1).and_then(|n| n.parse().ok())) else {
        eprintln!("usage: synth_set DIR N");
        std::process::exit(2);
    };
    std::fs::create_dir_all(dir).expect("create DIR");
    bench::synth::write_set(std::path::Path::new(dir), n).expect("write the set");
    println!("wrote {n} migrations to {dir}");
}
