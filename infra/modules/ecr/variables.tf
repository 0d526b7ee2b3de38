variable "name" {
  description = "Prefix for repository names, e.g. numbers-dev."
  type        = string
}

variable "images" {
  description = "One repository per image."
  type        = set(string)
  default     = ["proxy", "worker"]
}

variable "keep_images" {
  description = "Number of tagged images kept per repository."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
