# lit configuration for nnbpf: tests are *.test files beside this one.
import os
import lit.formats

config.name = "nnbpf"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.fixtures_dir), "lit-out")

path = os.pathsep.join([config.nnbpf_bin, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
config.environment["PATH"] = path
config.substitutions.append(("%fixtures", config.fixtures_dir))
config.substitutions.append(("%src", config.source_root))
data = os.environ.get("NNBPF_REPRO_DATA", config.repro_data)
config.substitutions.append(("%repro", data))
if os.geteuid() == 0:
    config.available_features.add("root")
