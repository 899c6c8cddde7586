package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The deployment files in deploy/ are checked here, since CI has neither
// Docker nor a cluster: every file parses, the compose file and the
// Kubernetes manifests name only variables Charlize reads, probe the right
// endpoints, keep the tokens in a Secret, and run more than one replica
// only on Redis.

const deployDir = "../../deploy"

// k8sObject is the part of a manifest the checks read.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas     *int `yaml:"replicas"`
		MinAvailable *int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []k8sContainer `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef    *struct{ Name, Key string } `yaml:"secretKeyRef"`
			ConfigMapKeyRef *struct{ Name, Key string } `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
}

func readManifests(t *testing.T) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	var objs []k8sObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" || (o.APIVersion == "" && o.Kind != "Kustomization") {
				t.Errorf("%s: a document without apiVersion and kind", f)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func find(objs []k8sObject, kind, name string) (k8sObject, bool) {
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o, true
		}
	}
	return k8sObject{}, false
}

// knownVar reports whether Charlize reads the variable name.
func knownVar(name string) bool {
	if slices.Contains(alsoRead, name) || strings.HasPrefix(name, "AWS_") {
		return true
	}
	for _, v := range envVars {
		if v.name == name {
			return true
		}
	}
	return false
}

func TestKubernetesManifests(t *testing.T) {
	objs := readManifests(t)
	dep, ok := find(objs, "Deployment", "charlize")
	if !ok {
		t.Fatal("no Deployment charlize")
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment has %d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
		if !knownVar(e.Name) {
			t.Errorf("Deployment sets %s, which Charlize does not read", e.Name)
		}
		if secretVars[e.Name] && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("%s does not come from a Secret", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			s, ok := find(objs, "Secret", e.ValueFrom.SecretKeyRef.Name)
			if _, has := s.StringData[e.ValueFrom.SecretKeyRef.Key]; !ok || !has {
				t.Errorf("%s refers to Secret %s key %s, which the manifests do not define", e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
		}
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			cm, ok := find(objs, "ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name)
			if _, has := cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]; !ok || !has {
				t.Errorf("%s refers to ConfigMap %s key %s, which the manifests do not define", e.Name, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
			}
		}
	}
	if !env["SLACK_SIGNING_SECRET"] {
		t.Error("the Deployment does not set SLACK_SIGNING_SECRET")
	}
	if r := dep.Spec.Replicas; r == nil || *r < 2 {
		t.Error("the Deployment should run more than one replica")
	} else if !env["REDIS_URL"] {
		t.Errorf("%d replicas without REDIS_URL would each open their own embedded store", *r)
	}
	for name, p := range map[string]*k8sProbe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[name]
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want {
			t.Errorf("%s probe = %+v, want GET %s", name, p, want)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 3000 {
		t.Errorf("container ports = %+v, want 3000 (CHARLIZE_ADDR :3000)", c.Ports)
	}
	if !mapsEqual(dep.Spec.Selector.MatchLabels, dep.Spec.Template.Metadata.Labels) {
		t.Errorf("Deployment selector %v does not match its pods' labels %v", dep.Spec.Selector.MatchLabels, dep.Spec.Template.Metadata.Labels)
	}
	pdb, ok := find(objs, "PodDisruptionBudget", "charlize")
	if !ok || !mapsEqual(pdb.Spec.Selector.MatchLabels, dep.Spec.Template.Metadata.Labels) || pdb.Spec.MinAvailable == nil {
		t.Errorf("no PodDisruptionBudget with minAvailable selecting Charlize's pods: %+v", pdb.Spec)
	}
	if _, ok := find(objs, "Service", "charlize"); !ok {
		t.Error("no Service charlize")
	}
	if _, ok := find(objs, "StatefulSet", "charlize-redis"); !ok {
		t.Error("no Redis for REDIS_URL to reach")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	app, redis := compose.Services["charlize"], compose.Services["redis"]
	if got := strings.Join(app.Healthcheck.Test, " "); got != "CMD /charlize healthcheck" {
		t.Errorf("charlize healthcheck = %q, want the binary's own healthcheck", got)
	}
	if len(redis.Healthcheck.Test) == 0 {
		t.Error("redis has no healthcheck")
	}
	if app.DependsOn["redis"].Condition != "service_healthy" {
		t.Error("charlize does not wait for a healthy redis")
	}
	if !strings.HasPrefix(app.Environment["REDIS_URL"], "redis://redis:") {
		t.Errorf("REDIS_URL = %q, want the compose redis service", app.Environment["REDIS_URL"])
	}
	for name := range app.Environment {
		if !knownVar(name) {
			t.Errorf("compose sets %s, which Charlize does not read", name)
		}
	}
	if len(redis.Volumes) == 0 || len(compose.Volumes) == 0 {
		t.Error("redis keeps no volume")
	}
}

// The Dockerfile pins its base images by digest and checks health with
// the binary itself.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)`)
	for _, m := range from.FindAllStringSubmatch(string(data), -1) {
		if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(m[1]) {
			t.Errorf("base image %s is not pinned by digest", m[1])
		}
	}
	if !strings.Contains(string(data), `HEALTHCHECK`) || !strings.Contains(string(data), `"/charlize", "healthcheck"`) {
		t.Error("no HEALTHCHECK running charlize healthcheck")
	}
}
