use std::time::Instant;
fn main() {
    let dir = std::env::args().nth(1).unwrap_or("migrations".into());
    let t = Instant::now();
    let report = check::run(&check::Options::new(dir));
    print!("{report}");
    eprintln!("total {:?}", t.elapsed());
}
