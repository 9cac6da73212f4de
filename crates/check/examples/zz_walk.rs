fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let (n, w) = (args[0], args[1]);
    let dir = tempfile::tempdir().unwrap();
    check::bench::synthetic_set(dir.path(), n).unwrap();
    let set = migrate::MigrationSet::discover(dir.path()).unwrap();
    let cluster = pgcluster::Cluster::temporary().unwrap();
    let t = std::time::Instant::now();
    let walked = check::reversibility::run_with(&set, &cluster, w);
    println!(
        "N={n} walkers={w}: {:?} passed={}",
        t.elapsed(),
        walked.report.failures.is_empty()
    );
    if !walked.report.failures.is_empty() {
        println!("{:?}", walked.report);
    }
}
