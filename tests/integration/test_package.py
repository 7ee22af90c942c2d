"""make install and make deb (dist/, scripts/make-deb.sh): what lands where,
checked with dpkg-deb -I / -c and by unpacking; nothing is installed on this
machine."""
import gzip
import os
import subprocess

from conftest import ROOT

MAN = ".TH JERN 1\n.SH NAME\njern \\- serverless on your own iron\n"


def make(*args, timeout=300):
    r = subprocess.run(["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_deb_contents(tmp_path):
    man = tmp_path / "jern.1"
    man.write_text(MAN)
    out = tmp_path / "out"
    r = make("deb", f"DEB_OUT={out}", f"MANPAGE={man}")
    debs = list(out.glob("jern_*.deb"))
    assert len(debs) == 1, r.stdout
    deb = str(debs[0])

    info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True, text=True, check=True)
    def field(name):
        return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True,
                              check=True).stdout.strip()

    assert field("Package") == "jern", info.stdout
    depends = field("Depends")
    for pkg in ("libyaml-0-2", "libsqlite3-0", "libcurl4", "libssl3", "libc6"):
        assert pkg in depends, depends
    for f in ("conffiles", "postinst", "prerm", "postrm", "md5sums"):
        assert f in info.stdout, info.stdout

    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    for path in ("./usr/bin/jern", "./usr/lib/jern/jern-monitor",
                 "./lib/systemd/system/jern.service", "./etc/jern/jern.conf",
                 "./usr/share/man/man1/jern.1.gz"):
        assert path in listing, listing
    assert all("root/root" in l for l in listing.splitlines()), listing

    root = tmp_path / "x"
    subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=True)
    unit = (root / "lib/systemd/system/jern.service").read_text()
    assert "ExecStart=/usr/bin/jern serve -c /etc/jern/jern.conf" in unit, unit
    assert "@" not in unit.split("[Service]")[1], unit
    assert gzip.decompress((root / "usr/share/man/man1/jern.1.gz").read_bytes()).decode() == MAN
    v = subprocess.run([str(root / "usr/bin/jern"), "version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("jern "), v.stdout + v.stderr
    assert v.stdout.strip() == f"jern {field('Version')}"
    conffiles = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True,
                               check=True).stdout
    assert b"/etc/jern/jern.conf" in conffiles


def test_make_install_prefix_destdir(tmp_path):
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", "PREFIX=/opt/jern")
    assert os.access(dest / "opt/jern/bin/jern", os.X_OK)
    unit = (dest / "etc/systemd/system/jern.service").read_text()
    assert "ExecStart=/opt/jern/bin/jern serve -c /opt/jern/etc/jern/jern.conf" in unit, unit
    conf = dest / "opt/jern/etc/jern/jern.conf"
    assert conf.exists()
    # a config that is there already is kept
    conf.write_text("# mine\n")
    make("install", f"DESTDIR={dest}", "PREFIX=/opt/jern")
    assert conf.read_text() == "# mine\n"
