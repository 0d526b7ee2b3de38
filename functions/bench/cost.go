package main

import (
	"fmt"
	"io"
)

// AWS list prices for us-east-1 as known on 2025-06-01 (the writer had no web
// access on 2026-11-27, when this was written): RE-CHECK before relying on
// them. Free tiers are left out.
const (
	pricesAsOf = "2025-06-01, us-east-1 list prices, free tiers excluded; re-check"

	sqsPerMillion        = 0.40         // standard queue, per 1M requests (64 KB chunks)
	lambdaPerMillion     = 0.20         // per 1M invocations
	lambdaArmPerGBs      = 0.0000133334 // arm64, first 7.5B GB-s per month
	apiGWHTTPPerMillion  = 1.00         // HTTP API, first 300M requests per month
	fargateArmVCPUHour   = 0.03238      // Linux/ARM
	fargateArmGBHour     = 0.00356      // Linux/ARM
	albHour              = 0.0225       // per ALB-hour
	albLCUHour           = 0.008        // per LCU-hour
	natHour              = 0.045        // per NAT gateway-hour
	natPerGB             = 0.045        // per GB processed
	endpointAZHour       = 0.01         // interface VPC endpoint, per AZ-hour
	endpointPerGB        = 0.01         // per GB processed
	publicIPv4Hour       = 0.005        // per public IPv4 address-hour
	cloudWatchLogsPerGB  = 0.50         // ingestion
	hoursPerMonth        = 730.0
	newConnectionsPerLCU = 25.0 // ALB: new connections per second per LCU
)

// Workload and sizing assumptions: each is printed with the table.
const (
	httpMemGB         = 0.25                       // HTTP function memory (256 MB)
	httpBilledSeconds = 0.010                      // per POST: one SendMessage to SQS in-region (assumed; the local 0.9 ms is against a local SQS)
	sqsMemGB          = 0.25                       // SQS function memory (256 MB)
	sqsBatch          = 10.0                       // ESM batch size
	sqsBilledSeconds  = 0.025                      // per batch of 10: one INSERT of 10 rows on RDS (assumed)
	sqsBytesPerNumber = 2048                       // SQS traffic (TLS, request + response) per number through NAT or endpoint
	platformLogBytes  = 250                        // Lambda START/END/REPORT lines per invocation
	idlePollsPerMonth = 4 * 3 * 60 * hoursPerMonth // 4 long-polling receivers, 3 empty receives a minute each
	azs               = 2
)

type task struct{ vcpu, gb float64 }

func (t task) monthly() float64 {
	return hoursPerMonth * (t.vcpu*fargateArmVCPUHour + t.gb*fargateArmGBHour)
}

func costTable(out io.Writer) {
	fmt.Fprintf(out, "Prices: %s.\n\n", pricesAsOf)
	fmt.Fprintln(out, "| monthly cost, USD | 1M numbers | 10M numbers | 100M numbers |")
	fmt.Fprintln(out, "|---|---|---|---|")
	volumes := []float64{1e6, 10e6, 100e6}
	row := func(name string, f func(n float64) float64) {
		fmt.Fprintf(out, "| %s |", name)
		for _, n := range volumes {
			fmt.Fprintf(out, " %.2f |", f(n))
		}
		fmt.Fprintln(out)
	}
	sqsUnbatched := func(n float64) float64 { return (3*n + idlePollsPerMonth) / 1e6 * sqsPerMillion }
	sqsBatched := func(n float64) float64 { return (n + 2*n/sqsBatch + idlePollsPerMonth) / 1e6 * sqsPerMillion }
	sqsFully := func(n float64) float64 { return (3*n/sqsBatch + idlePollsPerMonth) / 1e6 * sqsPerMillion }
	row("SQS, no batching (send + receive + delete per number)", sqsUnbatched)
	row("SQS, consumer batching (send per number, receive/delete per 10)", sqsBatched)
	row("SQS, batched end to end (10 per call everywhere; ECS proxy under sustained load only)", sqsFully)

	lambdaHTTP := func(n float64) float64 {
		return n/1e6*lambdaPerMillion + n*httpMemGB*httpBilledSeconds*lambdaArmPerGBs
	}
	lambdaSQS := func(n float64) float64 {
		inv := n / sqsBatch
		return inv/1e6*lambdaPerMillion + inv*sqsMemGB*sqsBilledSeconds*lambdaArmPerGBs
	}
	lambdaLogs := func(n float64) float64 { return (n + n/sqsBatch) * platformLogBytes / 1e9 * cloudWatchLogsPerGB }
	apiGW := func(n float64) float64 { return n / 1e6 * apiGWHTTPPerMillion }
	alb := func(n float64) float64 {
		lcuHours := n / (newConnectionsPerLCU * 3600) // one new connection per request, spread evenly
		return albHour*hoursPerMonth + lcuHours*albLCUHour + azs*publicIPv4Hour*hoursPerMonth
	}
	nat := func(n float64) float64 {
		return natHour*hoursPerMonth + publicIPv4Hour*hoursPerMonth + n*sqsBytesPerNumber/1e9*natPerGB
	}
	sqsEndpoint := func(n float64) float64 {
		return azs*endpointAZHour*hoursPerMonth + n*sqsBytesPerNumber/1e9*endpointPerGB
	}
	fargate := func(n float64) float64 {
		proxy := task{0.25, 0.5}
		if n >= 100e6 {
			proxy = task{0.5, 1}
		}
		return 2*proxy.monthly() + task{0.25, 0.5}.monthly()
	}
	row("Lambda HTTP function: requests + GB-s (256 MB, 10 ms)", lambdaHTTP)
	row("Lambda SQS function: requests + GB-s (256 MB, 25 ms per 10)", lambdaSQS)
	row("Lambda platform log lines (START/END/REPORT, 250 B each)", lambdaLogs)
	row("API Gateway HTTP API", apiGW)
	row("ALB: hours + LCU + 2 public IPv4", alb)
	row("Fargate arm64: 2 proxy + 1 worker, 0.25 vCPU/0.5 GB (proxies 0.5/1 at 100M)", fargate)
	row("NAT gateway (1 AZ) + its IPv4 + data", nat)
	row("SQS interface endpoint (2 AZ) + data", sqsEndpoint)

	ecs := func(n float64) float64 { return fargate(n) + alb(n) + nat(n) + sqsBatched(n) }
	lambdaAPIGW := func(n float64) float64 {
		return lambdaHTTP(n) + lambdaSQS(n) + lambdaLogs(n) + apiGW(n) + sqsEndpoint(n) + sqsBatched(n)
	}
	lambdaALB := func(n float64) float64 {
		return lambdaHTTP(n) + lambdaSQS(n) + lambdaLogs(n) + alb(n) + sqsEndpoint(n) + sqsBatched(n)
	}
	row("**Total ECS** (Fargate + ALB + NAT + SQS consumer-batched)", ecs)
	row("**Total Lambda behind API Gateway** (+ SQS endpoint + SQS consumer-batched)", lambdaAPIGW)
	row("**Total Lambda behind ALB** (+ SQS endpoint + SQS consumer-batched)", lambdaALB)
	fmt.Fprintf(out, "\nPer-number compute alone: Lambda HTTP %.3f µUSD, Lambda SQS %.3f µUSD; "+
		"the ECS tasks cost the same at any volume they can carry.\n",
		lambdaHTTP(1)*1e6, lambdaSQS(1)*1e6)
}
