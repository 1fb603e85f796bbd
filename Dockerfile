# offramp serve: the edge server. Build: docker build -t offramp .
# Run:   docker run -p 8080:8080 -v $PWD/models:/app/models:ro offramp   (bundles are mounted, not baked in)
# Not built in this project's CI: its machines have no Docker engine.
FROM node:20-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
# python3/make/g++ let the optional native zstd binding build; without them the wasm codec is used.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/* && npm install -g npm@11
COPY . .
# npm ci builds dist/ (prepare). onnxruntime-node is an optional peer of the package (the edge
# needs it): installed again after the dev dependencies are pruned.
RUN npm ci && npm prune --omit=dev && npm install --no-save --omit=dev onnxruntime-node@$(node -p "require('./package.json').peerDependencies['onnxruntime-node']")

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production OFFRAMP_HOST=0.0.0.0 OFFRAMP_PORT=8080 OFFRAMP_MODELS=/app/models
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
USER node
EXPOSE 8080
HEALTHCHECK CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/cli/index.js", "serve"]
