terraform {
  required_version = ">= 1.10" # S3-native state locking (use_lockfile)
}
