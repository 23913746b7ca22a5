"""Static checks of the deployable artifacts in deploy/: the dashboard, the Prometheus files, the
Kubernetes manifests (schema-validated offline against a pinned Kubernetes version), the compose file,
the Dockerfile, the env example, and `matchmaker --version`.

Run by scripts/check-deploy.sh (MATCHMAKER_BIN); promtool must be on PATH (Debian's `prometheus`).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml

from conftest import DEPLOY, OBSERVABILITY, ROOT, load_all_yaml, load_yaml

KUBERNETES_VERSION = "1.33.0"
K8S = DEPLOY / "k8s"
ALERT_JOBS = {"matchmaker-serve", "matchmaker-bots"}


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


# --- dashboard -----------------------------------------------------------------------------------


def dashboard() -> dict:
    with open(OBSERVABILITY / "dashboard.json") as file:
        return json.load(file)


def test_every_dashboard_panel_has_a_datasource_and_queries():
    board = dashboard()
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    panels = [panel for panel in board["panels"] if panel["type"] != "row"]
    assert len(panels) >= 10
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert panel.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel.get("targets"), f"{panel['title']} has no query"
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys(), panel["title"]
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"{panel['title']} has an empty query"
            assert target.get("refId"), panel["title"]
            assert target.get("datasource", panel["datasource"]) == panel["datasource"], panel["title"]


def test_every_dashboard_query_is_valid_promql(tmp_path):
    """Grafana's `$__rate_interval` replaced by a duration, each query becomes a recording rule that
    `promtool check rules` parses."""
    queries = [target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])]
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{index}", "expr": query.replace("$__rate_interval", "5m")}
        for index, query in enumerate(queries)
    ]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(queries)} rules found" in result.stdout


# --- Prometheus ----------------------------------------------------------------------------------


def test_every_alert_has_a_duration_a_severity_and_a_runbook():
    rules = [rule for group in load_yaml(OBSERVABILITY / "alerts.yml")["groups"] for rule in group["rules"]]
    assert len(rules) >= 10
    for rule in rules:
        assert "alert" in rule, rule
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), f"{rule['alert']} has no `for`"
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert {"summary", "description", "runbook"} <= rule["annotations"].keys(), rule["alert"]


def test_the_scrape_jobs_are_the_jobs_the_alerts_select():
    config = load_yaml(OBSERVABILITY / "prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    assert {job["job_name"] for job in config["scrape_configs"]} == ALERT_JOBS
    alerts = (OBSERVABILITY / "alerts.yml").read_text()
    assert 'up{job=~"matchmaker-serve|matchmaker-bots"}' in alerts
    # On Kubernetes the job is the pod's app.kubernetes.io/name: the Deployments must carry the same names.
    kubernetes = load_yaml(OBSERVABILITY / "prometheus-kubernetes.yml")
    assert kubernetes["rule_files"] == ["alerts.yml"]
    relabels = kubernetes["scrape_configs"][0]["relabel_configs"]
    assert {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "target_label": "job"} in relabels
    names = {deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] for deployment in deployments()}
    assert names == ALERT_JOBS


# --- Kubernetes ----------------------------------------------------------------------------------


def manifests() -> list[dict]:
    return [document for path in sorted(K8S.glob("*.yaml")) for document in load_all_yaml(path)]


def deployments() -> list[dict]:
    return [document for document in manifests() if document["kind"] == "Deployment"]


def deployment(name: str) -> dict:
    (found,) = [document for document in deployments() if document["metadata"]["name"] == name]
    return found


def offline(command: list[str]) -> list[str]:
    """The command without network access where this machine allows it (root: a new network namespace)."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n", *command]
    return command


def kubernetes_validate(*paths) -> subprocess.CompletedProcess:
    validator = shutil.which("kubernetes-validate") or str(ROOT / ".venv" / "bin" / "kubernetes-validate")
    return subprocess.run(
        offline([validator, "--strict", "--kubernetes-version", KUBERNETES_VERSION, *map(str, paths)]),
        capture_output=True, text=True,
    )


def test_the_manifests_validate_against_the_pinned_kubernetes_schemas_offline():
    paths = sorted(K8S.glob("*.yaml"))
    result = kubernetes_validate(*paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == len(manifests()) == 7, result.stdout


def test_the_validator_rejects_a_misspelt_field(tmp_path):
    """The strict schema check is real: a typo a lenient apply would drop is refused."""
    broken = tmp_path / "serve.yaml"
    broken.write_text((K8S / "serve.yaml").read_text().replace("  replicas: 2", "  replica: 2", 1))
    result = kubernetes_validate(broken)
    assert result.returncode != 0, result.stdout
    assert "replica" in result.stdout + result.stderr


def container(name: str) -> dict:
    (only,) = deployment(name)["spec"]["template"]["spec"]["containers"]
    return only


def test_serve_runs_two_stateless_replicas_and_the_bots_one_that_rolls_without_a_gap():
    assert deployment("matchmaker-serve")["spec"]["replicas"] == 2
    assert container("matchmaker-serve")["args"] == ["serve"]
    bots = deployment("matchmaker-bots")["spec"]
    assert bots["replicas"] == 1
    # Identity leases (migration 08) keep two pods from running one bot, so the new pod may start first.
    assert bots["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert container("matchmaker-bots")["args"] == ["bots"]


@pytest.mark.parametrize("name", sorted(ALERT_JOBS))
def test_each_deployment_is_probed_limited_locked_down_and_scraped(name):
    config = next(document for document in manifests() if document["kind"] == "ConfigMap")["data"]
    spec = deployment(name)["spec"]["template"]
    main = container(name)
    port = main["ports"][0]["containerPort"]
    assert config["HTTP_HOST"] == "0.0.0.0" and int(config["HTTP_PORT"]) == port
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["ports"][0]["name"] == "http"
    assert {"cpu", "memory"} <= main["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= main["resources"]["limits"].keys()
    assert spec["spec"]["securityContext"]["runAsNonRoot"] is True
    assert spec["spec"]["securityContext"]["runAsUser"] != 0
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    annotations = spec["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port and annotations["prometheus.io/path"] == "/metrics"


def test_the_grace_period_outlasts_the_bots_polite_close():
    """On SIGTERM a bot may wait for a room join (bounded by REALTIME_CONNECT_TIMEOUT), then send
    `room_closed` and write its analytics row, one request each bounded by the same timeout: three
    timeouts, and Kubernetes' default 30 s is not enough margin."""
    timeout = float(env_example()["REALTIME_CONNECT_TIMEOUT"])
    for name in ALERT_JOBS:
        grace = deployment(name)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > 3 * timeout and grace > 30, name


def test_secrets_come_from_the_secret_and_the_rest_from_the_config_map_and_selectors_match():
    names = {(document["kind"], document["metadata"]["name"]) for document in manifests()}
    secret = next(document for document in manifests() if document["kind"] == "Secret")
    for value in secret["stringData"].values():
        assert "<" in value, "the example Secret holds placeholders only"
    config = next(document for document in manifests() if document["kind"] == "ConfigMap")["data"]
    for key in ("SUPABASE_SERVICE_ROLE_KEY", "DATABASE_URL", "SUPABASE_JWT_SECRET", "SUPABASE_ANON_KEY"):
        assert key not in config, f"{key} is a secret"
    for name in ALERT_JOBS:
        main = container(name)
        for source in main.get("envFrom", []):
            kind, ref = ("ConfigMap", source["configMapRef"]) if "configMapRef" in source else ("Secret", source["secretRef"])
            assert (kind, ref["name"]) in names
        for variable in main.get("env", []):
            if "valueFrom" in variable:
                ref = variable["valueFrom"]["secretKeyRef"]
                assert ("Secret", ref["name"]) in names and ref["key"] in secret["stringData"]
    services = {document["metadata"]["name"]: document for document in manifests() if document["kind"] == "Service"}
    for name in ALERT_JOBS:
        assert services[name]["spec"]["selector"] == deployment(name)["spec"]["selector"]["matchLabels"]
    (budget,) = [document for document in manifests() if document["kind"] == "PodDisruptionBudget"]
    assert budget["spec"]["selector"] == deployment("matchmaker-serve")["spec"]["selector"]
    assert budget["spec"]["minAvailable"] < deployment("matchmaker-serve")["spec"]["replicas"]


# --- compose -------------------------------------------------------------------------------------


def test_the_compose_stack_is_serve_bots_and_monitoring_wired_together():
    compose = load_yaml(DEPLOY / "compose.yaml")
    services = compose["services"]
    assert set(services) == {"serve", "bots", "prometheus", "grafana"}
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in load_yaml(OBSERVABILITY / "prometheus.yml")["scrape_configs"]}
    for name, job in (("serve", "matchmaker-serve"), ("bots", "matchmaker-bots")):
        service = services[name]
        environment = service["environment"]
        assert environment["HTTP_HOST"] == "0.0.0.0"
        port = environment["HTTP_PORT"]
        assert [mapping.split(":")[1] for mapping in service["ports"]] == [port]
        assert service["healthcheck"]["test"][0] == "CMD-SHELL"
        assert "$${HTTP_PORT}/healthz" in service["healthcheck"]["test"][1]
        assert service["image"] == "matchmaker:0.1.0" and service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["read_only"] is True
        assert int(service["stop_grace_period"].rstrip("s")) >= 60
        assert targets[job] == [f"{name}:{port}"]
    assert services["serve"]["environment"]["BOTS"] == "off"
    assert services["bots"]["command"] == ["bots", "--url", f"http://serve:{services['serve']['environment']['HTTP_PORT']}"]
    assert services["bots"]["depends_on"]["serve"]["condition"] == "service_healthy"
    for name in ("prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"]
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            assert (DEPLOY / source).is_file(), f"{name} mounts {source}, which does not exist"


# --- Dockerfile and the env example --------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", "\n".join(line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip()]


def test_the_docker_health_check_uses_the_port_of_the_environment():
    (healthcheck,) = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "HEALTHCHECK"]
    command = healthcheck.split(" CMD ", 1)[1]
    assert not command.lstrip().startswith("["), "exec form would not expand ${HTTP_PORT}"
    assert re.search(r"\$\{?HTTP_PORT\}?", command), command
    assert not re.search(r":\d+/", command), f"a hard-coded port: {command}"


def test_the_image_runs_as_a_non_root_user_and_stops_gracefully():
    instructions = dockerfile_instructions()
    last_stage = instructions[max(index for index, (instruction, _) in enumerate(instructions) if instruction == "FROM"):]
    (user,) = [arguments for instruction, arguments in last_stage if instruction == "USER"]
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", user), f"USER {user} should be a numeric non-root id"
    assert ("STOPSIGNAL", "SIGTERM") in last_stage
    (entrypoint,) = [arguments for instruction, arguments in last_stage if instruction == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["matchmaker"], "exec form, so that matchmaker is PID 1 and gets SIGTERM"
    environment = " ".join(arguments for instruction, arguments in last_stage if instruction == "ENV")
    assert "HTTP_HOST=0.0.0.0" in environment


def test_the_image_builds_with_the_resolved_versions_when_the_context_has_them():
    dockerignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "Package.resolved" not in dockerignore
    assert "Package.resolved" in (ROOT / ".gitignore").read_text().split()
    instructions = dockerfile_instructions()
    assert ("COPY", "Package.swift Package.resolved* ./") in instructions
    runs = " ".join(arguments for instruction, arguments in instructions if instruction == "RUN")
    assert "swift package --force-resolved-versions resolve" in runs
    assert "swift build -c release --force-resolved-versions" in runs


def test_the_env_example_publishes_a_reachable_server_and_is_a_docker_env_file():
    values = env_example()
    host = values["HTTP_HOST"]
    assert host not in {"127.0.0.1", "localhost", "::1"} and not host.startswith("127."), host
    assert values["HTTP_PORT"].isdigit() and values["HTTP_PORT"] != "0"
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s\"'#]*", line), f"not a plain docker --env-file line: {line}"


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than loopback (the route to a documentation address;
    no packet is sent), or None when there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_serve_with_the_env_example_answers_on_a_non_loopback_address(matchmaker_bin):
    """What `docker run -p 8080:8080 --env-file deploy/.env.example` needs: the server answers on an
    address other than loopback (the port is a free one here, and bots off to keep it short)."""
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": os.environ["PATH"], **env_example(), "HTTP_PORT": str(port), "BOTS": "off"}
    server = subprocess.Popen([matchmaker_bin, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}:{port}/healthz", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, "serve exited"
                assert time.monotonic() < deadline, f"serve with the env example does not answer on {address}:{port}"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)


# --- the binary ----------------------------------------------------------------------------------


def test_version_prints_the_one_version_constant(matchmaker_bin):
    version = re.search(r'matchmakerVersion = "([^"]+)"', (ROOT / "Sources/MatchmakerCore/Version.swift").read_text()).group(1)
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    result = subprocess.run([matchmaker_bin, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == version
    # The image tag in the manifests and compose follows the version.
    for name in ALERT_JOBS:
        assert container(name)["image"].endswith(f"/matchmaker:{version}")
    assert load_yaml(DEPLOY / "compose.yaml")["services"]["serve"]["image"] == f"matchmaker:{version}"
