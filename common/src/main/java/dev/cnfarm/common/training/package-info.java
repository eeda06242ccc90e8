/**
 * Training jobs as users write them: the fields, their defaults and the checks that refuse a bad
 * one naming it. Shared by the CLI (which runs or submits them) and, later, the coordinator.
 */
package dev.cnfarm.common.training;
