package kueue.model;

/**
 * A process using a device.
 *
 * @param pid its process id on the worker's machine
 * @param user the owner's user name, or null when the worker cannot see it
 * @param command the program name nvidia-smi reports
 * @param memoryMb device memory it uses in MiB
 * @param jobId the Kueue job it belongs to, or null for a process outside Kueue
 */
public record DeviceProcess(long pid, String user, String command, long memoryMb, Long jobId) {}
