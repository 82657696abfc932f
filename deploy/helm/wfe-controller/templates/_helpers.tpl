{{/*
Names, labels and the values derived from the configuration, shared by the
templates. Objects carry the base's labels (app.kubernetes.io/name and
component) plus Helm's; selectors use the base's alone, so they match what
deploy/base selects.
*/}}

{{- define "wfe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's name, or <release>-<name> when it does not contain the name. */}}
{{- define "wfe.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "wfe.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "wfe.serviceAccountName" -}}
{{- default (include "wfe.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Labels of every object: the base's name label and Helm's. */}}
{{- define "wfe.labels" -}}
app.kubernetes.io/name: {{ include "wfe.name" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The controller's pods, as deploy/base selects them. */}}
{{- define "wfe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wfe.name" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "wfe.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The port of a bind address (":9090", "0.0.0.0:9090"); empty for "0" (off). */}}
{{- define "wfe.port" -}}
{{- if ne . "0" -}}{{- regexFind "[0-9]+$" . -}}{{- end -}}
{{- end -}}

{{/* The Lease's namespace: config.leaderElection.namespace, else the release's. */}}
{{- define "wfe.leaseNamespace" -}}
{{- default .Release.Namespace .Values.config.leaderElection.namespace -}}
{{- end -}}

{{/*
The configuration file: config with the Lease's namespace filled in and
leaderElection.enabled left out (it is the --leader-elect flag).
*/}}
{{- define "wfe.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $election := deepCopy .Values.config.leaderElection -}}
{{- $_ := unset $election "enabled" -}}
{{- $_ := set $election "namespace" (include "wfe.leaseNamespace" .) -}}
{{- $_ := set $config "leaderElection" $election -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
What the plugin directory is made of: the engines block and each engine
ConfigMap's kubernaut.ai/engine-sha256 annotation as the cluster has it at
install or upgrade (empty under `helm template`).
*/}}
{{- define "wfe.enginesChecksum" -}}
{{- $digests := list -}}
{{- range .Values.engines.configMaps -}}
{{- $configMap := lookup "v1" "ConfigMap" $.Release.Namespace . | default dict -}}
{{- $digests = append $digests (dig "metadata" "annotations" "kubernaut.ai/engine-sha256" "" $configMap) -}}
{{- end -}}
{{- list .Values.engines $digests | toJson | sha256sum -}}
{{- end -}}
