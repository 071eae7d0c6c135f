"""How the local Cassandra node is configured and launched (what ``bin/cassandra`` would do)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from subbuzz.config import StackSettings

from .install import template
from .process import ProcessSpec
from .versions import cassandra_home, find_java

MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"

# From Cassandra's conf/jvm17-server.options: the JDK 17 module access it needs.
_ADD_EXPORTS = (
    "java.base/jdk.internal.misc",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
    "jdk.compiler/com.sun.tools.javac.file",
    "jdk.attach/sun.tools.attach",
)
_ADD_OPENS = (
    "java.base/java.lang.module",
    "java.base/jdk.internal.loader",
    "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect",
    "java.base/jdk.internal.math",
    "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar",
    "jdk.management/com.sun.management.internal",
    "java.base/sun.nio.ch",
    "java.base/java.io",
    "java.base/java.lang.reflect",
    "jdk.compiler/com.sun.tools.javac",
    "java.base/java.lang",
    "java.base/java.util",
    "java.base/java.nio",
)


def state_dir(settings: StackSettings) -> Path:
    return settings.state_dir / "cassandra"


def log_path(settings: StackSettings) -> Path:
    return state_dir(settings) / "logs" / "system.log"


def write_config(settings: StackSettings) -> Path:
    """Render cassandra.yaml and logback.xml into the state directory; returns the conf dir."""
    base = state_dir(settings)
    conf = base / "conf"
    for sub in ("conf", "data", "logs", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    yaml = Template(template("cassandra.yaml")).substitute(
        host=settings.host,
        storage_port=settings.cassandra_storage_port,
        native_port=settings.cassandra_port,
        data_dir=base / "data",
    )
    (conf / "cassandra.yaml").write_text(yaml, encoding="utf-8")
    (conf / "logback.xml").write_text(template("logback.xml"), encoding="utf-8")
    return conf


def process_spec(settings: StackSettings) -> ProcessSpec:
    base = state_dir(settings)
    conf = write_config(settings)
    lib = cassandra_home(settings.cache_dir) / "lib"
    jamm = sorted(lib.glob("jamm-*.jar"))
    java = find_java() / "bin" / "java"
    heap = f"{settings.cassandra_heap_mb}M"
    command = [
        str(java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-Xss256k",
        "-XX:+UseG1GC",
        "-XX:+AlwaysPreTouch",
        "-Djava.net.preferIPv4Stack=true",
        "-Djdk.attach.allowAttachSelf=true",
        "-Dio.netty.tryReflectionSetAccessible=true",
        # JNA unpacks a native library into the temp dir, which must not be noexec.
        f"-Djava.io.tmpdir={base / 'tmp'}",
        *[f"--add-exports={module}=ALL-UNNAMED" for module in _ADD_EXPORTS],
        *[f"--add-opens={module}=ALL-UNNAMED" for module in _ADD_OPENS],
        *([f"-javaagent:{jamm[-1]}"] if jamm else []),
        f"-Dcassandra.config=file://{conf / 'cassandra.yaml'}",
        f"-Dcassandra.storagedir={base / 'data'}",
        f"-Dcassandra.logdir={base / 'logs'}",
        f"-Dlogback.configurationFile={conf / 'logback.xml'}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.jmx.local.port={settings.cassandra_jmx_port}",
        # A single node: no gossip to wait for.
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=1000",
        "-cp",
        f"{conf}:{lib}/*",
        MAIN_CLASS,
    ]
    return ProcessSpec(
        name="cassandra",
        command=command,
        log_path=base / "logs" / "stdout.log",
        pid_path=base / "cassandra.pid",
        cwd=base,
    )
