#!/usr/bin/env bash
# `make demo`: the whole job end to end on the embedded default: the bundled demo
# marketplace on loopback, a local ./data store. Crawl -> localiser -> map -> build -> train ->
# evaluate -> export -> index -> retrieval evaluation -> search -> Kubernetes manifests.
# A second shop, the storefront flavour of the demo site (English, embedded JSON, microdata,
# one budget for two hosts), is crawled too (a few items) and mapped with the first.
set -euo pipefail
STORE=${STORE:-./data}
SEED=${SEED:-0}
ITEMS=${ITEMS:-40}               # mean listings per category, on the site and in the catalogue
# Every category of the demo site (crawler/sites/demo.yaml): enough true user-shop pairs
# for a retrieval evaluation on test-split queries only.
CATEGORIES=(robes jeans pulls-et-sweats t-shirts manteaux-et-vestes pantalons jupes
            costumes-et-ensembles chemises shorts doudounes cardigans blouses polos leggings)
SHOP_ITEMS=${SHOP_ITEMS:-8}      # mean listings per category on the storefront (kept small)
SHOP_CATEGORIES=(dresses jeans t-shirts)   # crawler/sites/storefront.yaml
DATASET=$STORE/datasets/demo/v1
MODEL=$STORE/models/encoder/demo
ENCODER=$MODEL/export
EVAL=$STORE/eval/demo
step() { printf '\n== %s\n' "$*"; }

step "demo marketplace and demo storefront on free loopback ports (stopped when this script exits)"
SITE_DIR=$(mktemp -d)
s2s-crawl demo-site --port 0 --image-port 0 --seed "$SEED" --items-per-category "$ITEMS" \
    --ready-file "$SITE_DIR/site.json" --request-log "$SITE_DIR/requests.jsonl" &
SITE_PID=$!
# Another seed: the storefront sells other garments (the same seed would show the
# marketplace's photos again, and dedup would fold them into its rows).
s2s-crawl demo-site --flavour storefront --port 0 --image-port 0 --seed "$((SEED + 1))" \
    --items-per-category "$SHOP_ITEMS" --ready-file "$SITE_DIR/shop.json" &
SHOP_PID=$!
trap 'kill "$SITE_PID" "$SHOP_PID" 2>/dev/null || true; wait "$SITE_PID" "$SHOP_PID" 2>/dev/null || true; rm -rf "$SITE_DIR"' EXIT
for ready in site shop; do
    for _ in $(seq 200); do
        [ -s "$SITE_DIR/$ready.json" ] && break
        kill -0 "$SITE_PID" "$SHOP_PID" 2>/dev/null || { echo "demo $ready failed to start" >&2; exit 1; }
        sleep 0.1
    done
    [ -s "$SITE_DIR/$ready.json" ] || { echo "demo $ready not ready after 20 s" >&2; exit 1; }
done
site_url() { python -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$SITE_DIR/$1.json" "$2"; }
S2S_BASE_URL=$(site_url site base_url)
S2S_IMAGE_BASE_URL=$(site_url site image_base_url)
export S2S_BASE_URL S2S_IMAGE_BASE_URL

step "crawl ${#CATEGORIES[@]} categories politely into $STORE (a rerun fetches only what is new)"
category_flags=()
for category in "${CATEGORIES[@]}"; do category_flags+=(--category "$category"); done
s2s-crawl run --site demo "${category_flags[@]}" --store "$STORE" --rate 15
s2s-crawl stats --store "$STORE" --site demo

step "crawl ${#SHOP_CATEGORIES[@]} categories of the storefront: a profile alone, one budget for its two hosts"
shop_flags=()
for category in "${SHOP_CATEGORIES[@]}"; do shop_flags+=(--category "$category"); done
s2s-crawl run --site storefront "${shop_flags[@]}" --store "$STORE" --rate 15 \
    --base-url "$(site_url shop base_url)" --image-base-url "$(site_url shop image_base_url)"

step "house catalogue export (studio shots sharing designs with the marketplace, customers' photos)"
s2s-dataset demo-catalogue --store "$STORE" --seed "$SEED" --items-per-category "$ITEMS"

step "raw labels without a mapping (the maintainer's to-do list; empty for both demo shops)"
s2s-dataset unmapped --store "$STORE" --site demo
s2s-dataset unmapped --store "$STORE" --site storefront

step "garment localiser: studio cut-outs of the catalogue on generated scenes (reused when unchanged)"
s2s-train fit-localiser --cutouts "$STORE/catalogue/demo/images" \
    --scenes "$STORE/raw/demo/images/full" --out "$STORE/models/localiser/demo"

step "dataset build: map, merge, check, dedup, segment, split, rebalance, weights, shards, report"
s2s-dataset build --config dataset/configs/demo.yaml --store "$STORE"

step "train the four attribute encoders and the street-to-shop embedding (small backbone on CPU), evaluate, export"
s2s-train fit --dataset "$DATASET" --out "$MODEL" --overwrite --backbone small --weights none \
    --image-size 64 --epochs 10 --batch-size 32 --learning-rate 3e-3 --retrieval \
    --colour-statistics colour,retrieval
s2s-train evaluate --model "$MODEL" --dataset "$DATASET"
s2s-train export --model "$MODEL"

step "street-to-shop search: index the catalogue, measure top-k on true pairs, query"
s2s-train index --encoder "$ENCODER" --dataset "$DATASET" --out "$STORE/indexes/demo"
# The seed's search vector (the task encodings, concatenated) is the baseline of the
# pair-trained embedding, on the same test-split queries.
s2s-train eval-retrieval --encoder "$ENCODER" --pairs "$DATASET" --split test --top-k 1,5,10,20 \
    --embedding attributes --out "$EVAL/attributes" --format json > /dev/null
RETRIEVAL=$(s2s-train eval-retrieval --encoder "$ENCODER" --pairs "$DATASET" --split test \
    --top-k 1,5,10,20 --compare "$EVAL/attributes/report.json" --out "$EVAL")
echo "$RETRIEVAL"
read -r QUERY PAIR < <(python -c "import pandas as pd, sys; m = pd.read_parquet(sys.argv[1]); \
r = m[(m.domain == 'user') & (m.pair_id.fillna('') != '') & (m.split == 'test')].iloc[0]; \
print(r.image_path, r.pair_id)" "$DATASET/manifest.parquet")
# The shopper's whole photo, cut out as the dataset's segment stage cut the training images.
s2s-train search --index "$STORE/indexes/demo" --image "$STORE/$QUERY" --pair-id "$PAIR" \
    --segment --localiser "$STORE/models/localiser/demo/localiser.keras" \
    --top 10 --grid "$EVAL/search-grid.png"
s2s-train plot-embeddings --encoder "$ENCODER" --dataset "$DATASET" --task colour \
    --out "$EVAL/tsne-colour.png"

step "dataset build again: every stage cached but the report, which now links the evaluations"
s2s-dataset build --config dataset/configs/demo.yaml --store "$STORE"

step "Kubernetes: the same crawl as an Indexed Job, one index per category"
categories_csv=$(IFS=,; echo "${CATEGORIES[*]}")
s2s-crawl k8s render --site demo --categories "$categories_csv" \
    --image street2shop/crawl:0.1.0 --store s3://street2shop \
    --rate 6 --parallelism 3 --secret s2s-s3-credentials > "$STORE/k8s-crawl.yaml"

step "done: look at"
look() { printf '  %-44s %s\n' "$1" "$2"; }
look "$DATASET/report.html" "dataset report (stage figures, a gallery per decision)"
look "$MODEL/eval/test/index.html" "test metrics and confusion matrices on one page"
look "$EVAL/index.html" "top-k hit rate of shoppers' photos against the catalogue"
look "$EVAL/search-grid.png" "a shopper's photo beside its top 10 catalogue products"
look "$EVAL/tsne-colour.png" "the colour encodings, coloured by label"
look "$STORE/k8s-crawl.yaml" "the crawl as Kubernetes objects (kubectl apply -f)"

step "what the encoder learnt (test split, beside chance and the task-encoding baseline)"
grep -E "^  (colour|type) " "$MODEL/eval/test/summary.txt"
head -n 2 <<< "$RETRIEVAL"
grep "^vs previous" <<< "$RETRIEVAL"
