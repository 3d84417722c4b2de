# One image for every imring component: its entrypoint is the `imring` CLI
# (`imring operator`, `imring gateway`, `imring proxy`, `imring push`, ...).
#   docker build -t ghcr.io/imring/imring:0.1.0 .
#   docker run --rm ghcr.io/imring/imring:0.1.0 --help

# Compile the TypeScript (without tests and benchmarks).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY ring ring
COPY kube kube
COPY local local
COPY runtime runtime
COPY client client
COPY operator operator
COPY cli cli
RUN npx tsc -p tsconfig.build.json

# Production dependencies only.
FROM node:20-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

# Runtime: distroless Node.js 20, no shell, no package manager, user nonroot (65532).
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /imring
COPY --from=deps /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY proto proto
COPY crds crds
# The web view's page (imring status --web, imring local).
COPY web web
USER 65532:65532
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/imring.js"]
