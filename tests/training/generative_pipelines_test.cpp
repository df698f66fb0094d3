// The generative example pipelines (graphs/digits_vae*.yaml,
// graphs/digits_gan*.yaml) on the real digits, with short settings: they
// train, draw their sample grids, sample from their checkpoints, and the
// VAE's calibrated screen separates genuine from corrupted images. Pixels
// are checked by PIL (tests/images/check_png_grid.py), statistics by NumPy
// (generative_reference.py). bench/generative/ measures them at full length.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;

std::string graph(const std::string& name) { return kSource + "/graphs/" + name + ".yaml"; }

ProcessResult reference(const std::vector<std::string>& args) {
  return run_python(kSource + "/tests/training/generative_reference.py", args);
}

// The PNG grid against the .npy it draws: 8x8 images in 0..1, scale 4, 10 columns.
ProcessResult png_matches(const fs::path& png, const fs::path& npy) {
  return run_python(kSource + "/tests/images/check_png_grid.py",
                    {png.string(), npy.string(), "8", "8", "0", "1", "4", "10"});
}

void require_ok(const ProcessResult& r) {
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

double flagged(const fs::path& mask) {
  const ProcessResult r = reference({"flagged", mask.string()});
  require_ok(r);
  return std::stod(r.out);
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the digits VAE trains and its epoch grids are the samples its sampling graph draws") {
  TempDir dir;
  const fs::path out = dir / "vae";
  require_ok(run_keel({"run", graph("digits_vae"), "-q", "-o", out.string(), "--set", "train.epochs=2"}));
  CHECK(fs::exists(out / "samples/epoch-001.png"));
  REQUIRE(fs::exists(out / "samples/epoch-002.png"));
  const fs::path samples = dir / "samples";
  require_ok(run_keel({"run", graph("digits_vae_sample"), "-q", "-o", samples.string(), "--params",
                       (out / "vae.ckpt").string()}));
  require_ok(reference({"samples", (samples / "samples.npy").string(), "100"}));
  // The last epoch's grid was drawn with the parameters the checkpoint holds.
  require_ok(png_matches(out / "samples/epoch-002.png", samples / "samples.npy"));
  require_ok(png_matches(samples / "samples.png", samples / "samples.npy"));
  // --set picks the number of samples and the seed.
  const fs::path seven = dir / "seven";
  require_ok(run_keel({"run", graph("digits_vae_sample"), "-q", "-o", seven.string(), "--params",
                       (out / "vae.ckpt").string(), "--set", "z.count=7", "--set", "seed=3"}));
  require_ok(reference({"samples", (seven / "samples.npy").string(), "7"}));
  // The output guard: with a limit no image meets, every sample is blanked
  // before it is written, and anomalies.jsonl names every row.
  const fs::path strict = dir / "strict";
  require_ok(
      run_keel({"run", graph("digits_vae_sample"), "-q", "-o", strict.string(), "--params",
                (out / "vae.ckpt").string(), "--set", "z.count=5", "--set", "sample_check.threshold=0.001"}));
  require_ok(reference({"blanked", (strict / "samples.npy").string(), "5"}));
  CHECK(read(strict / "anomalies.jsonl").find("\"rows\":[0,1,2,3,4]") != std::string::npos);
}

TEST_CASE("a samples folder linked out of the output folder is refused before training") {
  TempDir dir;
  const fs::path out = dir / "out", victim = dir / "victim";
  fs::create_directories(out);
  fs::create_directories(victim);
  fs::create_directory_symlink(victim, out / "samples");
  const ProcessResult r =
      run_keel({"run", graph("digits_vae"), "-q", "-o", out.string(), "--set", "train.epochs=1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("'samples/epoch-001.png' leads outside the output folder") != std::string::npos);
  CHECK(fs::is_empty(victim));
  CHECK_FALSE(fs::exists(out / "vae.ckpt"));
}

TEST_CASE("the digits GAN trains in two phases and its sampling graph reads the checkpoint") {
  TempDir dir;
  const fs::path out = dir / "gan";
  require_ok(run_keel({"run", graph("digits_gan"), "-q", "-o", out.string(), "--set", "train.epochs=2"}));
  const std::string metrics = read(out / "metrics.jsonl");
  CHECK(metrics.find("\"discriminator\":{\"train_loss\":") != std::string::npos);
  CHECK(metrics.find("\"generator\":{\"train_loss\":") != std::string::npos);
  const fs::path samples = dir / "samples";
  // Two epochs make no digits yet: the output guard would blank them all,
  // so it is opened up here (the VAE test checks it).
  require_ok(run_keel({"run", graph("digits_gan_sample"), "-q", "-o", samples.string(), "--params",
                       (out / "gan.ckpt").string(), "--set", "sample_check.threshold=1e30"}));
  CHECK(fs::exists(out / "samples/epoch-002.png"));
  require_ok(reference({"samples", (samples / "samples.npy").string(), "100"}));
  require_ok(png_matches(samples / "samples.png", samples / "samples.npy"));
}

TEST_CASE("the VAE screen is calibrated on the trained model and flags noise and inverted images") {
  TempDir dir;
  const fs::path out = dir / "vae";
  require_ok(run_keel({"run", graph("digits_vae"), "-q", "-o", out.string()}));
  const std::string ckpt = (out / "vae.ckpt").string();
  auto screen = [&](const fs::path& pixels, const std::string& name) {
    require_ok(run_keel({"run", graph("digits_vae_screen"), "-q", "-o", (dir / name).string(), "--params",
                         ckpt, "--input", "pixels=" + pixels.string()}));
    return dir / name;
  };
  // The limit's statistics are those of the trained model's errors on the
  // training rows.
  const fs::path train_rows = dir / "train.npy";
  require_ok(reference({"training_rows", kSource + "/graphs/data/digits.csv",
                        (out / "holdout/rows.npy").string(), train_rows.string()}));
  require_ok(reference({"calibration", ckpt, (screen(train_rows, "train") / "recon_err.npy").string()}));
  // Genuine hold-out images pass; noise and inverted images do not.
  require_ok(reference({"corrupt", (out / "holdout/pixels.npy").string(), dir.path().string()}));
  CHECK(flagged(screen(out / "holdout/pixels.npy", "holdout") / "recon_check.mask.npy") <= 0.03);
  CHECK(flagged(screen(dir / "noise.npy", "noise") / "recon_check.mask.npy") >= 0.99);
  CHECK(flagged(screen(dir / "inverted.npy", "inverted") / "recon_check.mask.npy") >= 0.99);
}
