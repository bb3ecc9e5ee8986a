//! Benchmarks (being written).

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("bench is not written yet")
}
