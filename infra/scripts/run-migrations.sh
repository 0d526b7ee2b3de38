#!/usr/bin/env bash
# Runs the migrate task once and fails unless its container exits 0. Called by
# `tofu apply` (modules/ecs, terraform_data.migrate) before the services roll
# to a new image; needs the AWS CLI and the apply role's credentials.
# Environment: CLUSTER, TASK_DEFINITION (ARN), SUBNETS (comma-separated),
# SECURITY_GROUP, AWS_REGION.
set -euo pipefail
: "${CLUSTER:?}" "${TASK_DEFINITION:?}" "${SUBNETS:?}" "${SECURITY_GROUP:?}" "${AWS_REGION:?}"

echo "run-migrations: $TASK_DEFINITION on $CLUSTER"
task=$(aws ecs run-task --cluster "$CLUSTER" --task-definition "$TASK_DEFINITION" --launch-type FARGATE \
	--network-configuration "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUP],assignPublicIp=DISABLED}" \
	--started-by tofu-migrate --query 'tasks[0].taskArn' --output text)
if [ -z "$task" ] || [ "$task" = "None" ]; then
	echo "run-migrations: the task did not start" >&2
	exit 1
fi
echo "run-migrations: waiting for $task"
# tasks-stopped polls every 6 s, 100 times (10 min); a second round for slow starts.
aws ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$task" || aws ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$task"
# shellcheck disable=SC2016 # backticks are JMESPath literals, not shell
code=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$task" --query 'tasks[0].containers[?name==`migrate`].exitCode | [0]' --output text)
reason=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$task" --query 'tasks[0].stoppedReason' --output text)
if [ "$code" != "0" ]; then
	echo "run-migrations: the migrate container exited with $code ($reason); logs: stream prefix migrate in the proxy log group" >&2
	exit 1
fi
echo "run-migrations: done"
