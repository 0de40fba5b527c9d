#!/usr/bin/env bash
# Regenerates src/export/proto/onnx_pb.ts (the ONNX protobuf messages for @bufbuild/protobuf) from
# src/export/proto/onnx.proto, a verbatim copy of onnx/onnx.proto at the ONNX release tag v1.22.0.
# The generated file is committed: neither install nor the tests run this script.
#
#   apt-get install -y protobuf-compiler      # protoc (Debian's 3.21 works)
#   bash scripts/make-onnx-proto.sh           # fetches @bufbuild/protoc-gen-es (the runtime's version) with npx
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p 'require("./node_modules/@bufbuild/protobuf/package.json").version')
plugin_dir=$(mktemp -d)
trap 'rm -rf "$plugin_dir"' EXIT
npm install --silent --prefix "$plugin_dir" "@bufbuild/protoc-gen-es@$version" >/dev/null
protoc --plugin=protoc-gen-es="$plugin_dir/node_modules/.bin/protoc-gen-es" \
  --es_out=src/export/proto --es_opt=target=ts,import_extension=js \
  --proto_path=src/export/proto onnx.proto
echo "wrote src/export/proto/onnx_pb.ts (protoc-gen-es $version)"
