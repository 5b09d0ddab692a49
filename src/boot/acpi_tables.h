/* ACPI table layouts (ACPI 6.4, chapter 5.2), as vireo writes them. */
#ifndef VIREO_BOOT_ACPI_TABLES_H
#define VIREO_BOOT_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

struct __attribute__((packed)) acpi_rsdp {
	char signature[8];       /* "RSD PTR " */
	uint8_t checksum;        /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;        /* 2 */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum;    /* over all 36 bytes */
	uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};

/* Generic Address Structure */
struct __attribute__((packed)) acpi_gas {
	uint8_t space_id;        /* 0 memory, 1 I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;     /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
};

#define ACPI_SPACE_IO 1

struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
};

_Static_assert(sizeof(struct acpi_rsdp) == 36, "rsdp");
_Static_assert(sizeof(struct acpi_header) == 36, "acpi header");
_Static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "fadt sci_int");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "fadt pm1a_evt");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "fadt iapc");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "fadt flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "fadt reset_reg");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "fadt x_dsdt");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "fadt sleep ctl");
_Static_assert(sizeof(struct acpi_fadt) == 276, "fadt rev 6");

#define ACPI_FADT_WBINVD        (1u << 0)
#define ACPI_FADT_PROC_C1       (1u << 2)
#define ACPI_FADT_PWR_BUTTON    (1u << 4)  /* set: no fixed power button */
#define ACPI_FADT_SLP_BUTTON    (1u << 5)  /* set: no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042           (1u << 1)

struct __attribute__((packed)) acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
};
_Static_assert(sizeof(struct acpi_facs) == 64, "facs");

/* MADT and its entries */
struct __attribute__((packed)) acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
};
#define ACPI_MADT_PCAT_COMPAT 1

enum {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_ISO = 2,
	ACPI_MADT_LAPIC_NMI = 4,
};

struct __attribute__((packed)) acpi_madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;          /* 1: enabled */
};
struct __attribute__((packed)) acpi_madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address;
	uint32_t gsi_base;
};
struct __attribute__((packed)) acpi_madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
};
struct __attribute__((packed)) acpi_madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
};
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "madt lapic");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "madt ioapic");
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "madt iso");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "madt nmi");

/* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
#define ACPI_INTI_ACTIVE_HIGH 0x1
#define ACPI_INTI_LEVEL       0xc

struct __attribute__((packed)) acpi_mcfg {
	struct acpi_header h;
	uint8_t reserved[8];
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved2;
};
_Static_assert(sizeof(struct acpi_mcfg) == 60, "mcfg with one allocation");

#endif
