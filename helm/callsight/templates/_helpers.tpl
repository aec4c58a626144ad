{{/* Chart name, truncated to Kubernetes' 63 characters. */}}
{{- define "callsight.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name, the prefix of every resource. */}}
{{- define "callsight.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "callsight.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "callsight.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: callsight
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the release's pods. */}}
{{- define "callsight.selectorLabels" -}}
app.kubernetes.io/name: {{ include "callsight.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels and selector of one component: (dict "ctx" $ "component" "ingest"). */}}
{{- define "callsight.componentLabels" -}}
{{ include "callsight.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "callsight.componentSelector" -}}
{{ include "callsight.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Name of the ServiceAccount the pods run as. */}}
{{- define "callsight.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "callsight.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference. */}}
{{- define "callsight.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where the configuration file is mounted. */}}
{{- define "callsight.configPath" -}}/etc/callsight/callsight.toml{{- end }}

{{/* Checks of values that the schema cannot express; rendering fails with the reason. */}}
{{- define "callsight.validate" -}}
{{- if not .Values.kafka.brokers }}
{{- fail "kafka.brokers is required: the bootstrap servers of the Kafka cluster (callsight's embedded broker is for laptops and tests)" }}
{{- end }}
{{- $bound := add .Values.shutdown.drainTimeoutSeconds .Values.ingestRole.preStopSeconds }}
{{- if le (int .Values.shutdown.terminationGracePeriodSeconds) (int $bound) }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d) must exceed shutdown.drainTimeoutSeconds plus ingestRole.preStopSeconds (%d), or Kubernetes kills processes mid-drain" (int .Values.shutdown.terminationGracePeriodSeconds) (int $bound)) }}
{{- end }}
{{- if gt (int .Values.processorRole.replicas) (int .Values.topics.streamPartitions) }}
{{- fail (printf "processorRole.replicas (%d) exceeds topics.streamPartitions (%d): the extra processors would own no partition" (int .Values.processorRole.replicas) (int .Values.topics.streamPartitions)) }}
{{- end }}
{{- if and (eq .Values.topics.management "strimzi") (not .Values.topics.strimziCluster) }}
{{- fail "topics.strimziCluster is required with topics.management = strimzi" }}
{{- end }}
{{- if and .Values.mistPoller.enabled (not .Values.secrets.mistApiTokens) }}
{{- fail "mistPoller.enabled needs secrets.mistApiTokens: the poller has nothing to poll without an org's API token" }}
{{- end }}
{{- if and .Values.ingestRole.ingress.enabled (not .Values.graph.publicUrl) }}
{{- fail "ingestRole.ingress.enabled needs graph.publicUrl: the Ingress serves its host" }}
{{- end }}
{{- if and .Values.ingestRole.ingress.enabled (contains ":" (urlParse .Values.graph.publicUrl).host) }}
{{- fail "ingestRole.ingress.enabled: graph.publicUrl must not name a port (an Ingress host has none)" }}
{{- end }}
{{- end }}

{{/* One environment variable from a Secret reference {name, key}. */}}
{{- define "callsight.secretEnv" -}}
{{- if and .ref .ref.name }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
{{- end }}
{{- end }}

{{/* What reaching Kafka needs: the configuration file, Kafka's and the Schema Registry's
secrets. The topic Job gets only this (and extraEnv). */}}
{{- define "callsight.kafkaEnv" -}}
- name: CALLSIGHT_CONFIG
  value: {{ include "callsight.configPath" . }}
{{- include "callsight.secretEnv" (dict "env" "CALLSIGHT__CODEC__SCHEMA_REGISTRY_PASSWORD" "ref" .Values.secrets.schemaRegistryPassword) }}
{{- range $property, $ref := .Values.kafka.secretProperties }}
{{- include "callsight.secretEnv" (dict "env" (printf "CALLSIGHT__KAFKA__PROPERTIES__%s" ($property | replace "." "_" | upper)) "ref" $ref) }}
{{- end }}
{{- end }}

{{/* Environment of every callsight role: Kafka's, the other secrets by reference, then extraEnv. */}}
{{- define "callsight.env" -}}
{{ include "callsight.kafkaEnv" . }}
{{- include "callsight.secretEnv" (dict "env" "CALLSIGHT__GRAPH__CLIENT_SECRET" "ref" .Values.secrets.graphClientSecret) }}
{{- include "callsight.secretEnv" (dict "env" "CALLSIGHT__PRIVACY__MASTER_KEY" "ref" .Values.secrets.masterKey) }}
{{- include "callsight.secretEnv" (dict "env" "CALLSIGHT__GRAPH__ADMIN_TOKEN" "ref" .Values.secrets.adminToken) }}
{{- include "callsight.secretEnv" (dict "env" "CALLSIGHT__INGEST__TELEMETRY_TOKEN" "ref" .Values.secrets.telemetryToken) }}
{{- range $org, $ref := .Values.secrets.mistWebhookSecrets }}
{{- include "callsight.secretEnv" (dict "env" (printf "CALLSIGHT__INGEST__MIST__ORGS__%s__WEBHOOK_SECRET" $org) "ref" $ref) }}
{{- end }}
{{- range $org, $ref := .Values.secrets.mistApiTokens }}
{{- include "callsight.secretEnv" (dict "env" (printf "CALLSIGHT__INGEST__MIST__ORGS__%s__API_TOKEN" $org) "ref" $ref) }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The configuration file (TOML). Numbers go through `int` so that they stay integers. */}}
{{- define "callsight.config" -}}
# callsight configuration rendered by the Helm chart; secrets come from the environment.
[kafka]
brokers = {{ .Values.kafka.brokers | quote }}
client_id = {{ .Values.kafka.clientId | quote }}
group_id = {{ .Values.kafka.groupId | quote }}
linger = {{ .Values.kafka.linger | quote }}
compression = {{ .Values.kafka.compression | quote }}
replication_factor = {{ int .Values.kafka.replicationFactor }}
create_topics = {{ eq .Values.topics.management "roles" }}

[kafka.properties]
{{- range $k, $v := .Values.kafka.properties }}
{{ $k | quote }} = {{ $v | toString | quote }}
{{- end }}

[topics]
dead_letter_partitions = {{ int .Values.topics.deadLetterPartitions }}
dead_letter_retention = "{{ int .Values.topics.deadLetterRetentionHours }}h"

[topics.notifications]
name = "teams.notifications"
partitions = {{ int .Values.topics.notificationsPartitions }}
retention = "7days"

[topics.legs]
name = "calls.legs"
partitions = {{ int .Values.topics.streamPartitions }}
retention = "{{ int .Values.topics.legsRetentionHours }}h"

[topics.telemetry]
name = "net.telemetry"
partitions = {{ int .Values.topics.streamPartitions }}
retention = "{{ int .Values.topics.telemetryRetentionHours }}h"

[topics.verdicts]
name = "rca.verdicts"
partitions = {{ int .Values.topics.verdictsPartitions }}

[topics.alerts]
name = "rca.alerts"
partitions = 3
retention = "{{ int .Values.topics.alertsRetentionHours }}h"

[admin]
listen = "0.0.0.0:{{ int .Values.admin.port }}"

[ingest]
listen = "0.0.0.0:{{ int .Values.ingestRole.port }}"
max_body_bytes = {{ int .Values.ingest.maxBodyBytes }}
max_in_flight = {{ int .Values.ingest.maxInFlight }}
# Without secrets.telemetryToken, POST /telemetry is served in the cluster only (the Ingress
# does not expose it) and takes any sender there.
allow_unauthenticated = {{ not (and .Values.secrets.telemetryToken .Values.secrets.telemetryToken.name) }}

[ingest.mist]
api_url = {{ .Values.ingest.mist.apiUrl | quote }}
poll_interval = {{ .Values.ingest.mist.pollInterval | quote }}
# Only the dedicated poller pod polls: it runs `callsight mist-poll`; `ingest` never polls.
{{- range $org, $settings := .Values.ingest.mist.orgs }}

[ingest.mist.orgs.{{ $org | quote }}]
allow_legacy_signature = {{ default false $settings.allowLegacySignature }}
sites = [{{ range $i, $site := default list $settings.sites }}{{ if $i }}, {{ end }}{{ $site | quote }}{{ end }}]
{{- end }}

[log]
format = {{ .Values.log.format | quote }}
filter = {{ .Values.log.filter | quote }}

[shutdown]
drain_timeout = "{{ int .Values.shutdown.drainTimeoutSeconds }}s"

[graph]
base_url = {{ .Values.graph.baseUrl | quote }}
login_url = {{ .Values.graph.loginUrl | quote }}
client_id = {{ .Values.graph.clientId | quote }}
public_url = {{ .Values.graph.publicUrl | quote }}
fetch_concurrency = {{ int .Values.fetchRole.concurrency }}

[privacy]
mode = {{ .Values.privacy.mode | quote }}

[processor]
retention = {{ .Values.processor.retention | quote }}
allowed_lateness = {{ .Values.processor.allowedLateness | quote }}
max_wait = {{ .Values.processor.maxWait | quote }}
state_dir = "/var/lib/callsight/state"
block_cache_bytes = {{ int64 .Values.processor.blockCacheBytes }}
write_buffer_bytes = {{ int64 .Values.processor.writeBufferBytes }}
{{- end }}

{{/* Probes and ports shared by every callsight container. */}}
{{- define "callsight.adminPort" -}}
- name: admin
  containerPort: {{ .Values.admin.port }}
  protocol: TCP
{{- end }}

{{- define "callsight.livenessProbe" -}}
livenessProbe:
  httpGet:
    path: /livez
    port: admin
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/* Volumes of the configuration and a writable /tmp (the root filesystem is read-only). */}}
{{- define "callsight.volumes" -}}
- name: config
  configMap:
    name: {{ include "callsight.fullname" . }}
- name: tmp
  emptyDir: {}
{{- end }}

{{- define "callsight.volumeMounts" -}}
- name: config
  mountPath: /etc/callsight
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Rolls pods when the configuration changes. */}}
{{- define "callsight.podAnnotations" -}}
checksum/config: {{ include "callsight.config" . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Where ingest pods run; the Mist poller runs there too. */}}
{{- define "callsight.ingestScheduling" -}}
{{- with .Values.ingestRole.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.ingestRole.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.ingestRole.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
