/* The Linux x86 boot protocol's data structures (Documentation/arch/x86/
 * boot.rst and zero-page.rst), written from the specification.  Only the
 * fields vireo reads or writes are named; the rest are padding, and every
 * named field's offset is checked at compile time against the spec. */
#ifndef VIREO_BOOT_BOOTPARAM_H
#define VIREO_BOOT_BOOTPARAM_H

#include <stddef.h>
#include <stdint.h>

#define SETUP_HDR_OFFSET   0x1f1   /* setup header inside the image and boot_params */
#define SETUP_HDR_MAGIC    0x53726448u /* "HdrS" at 0x202 */
#define SETUP_BOOT_FLAG    0xAA55
#define SETUP_SECT_SIZE    512
#define SETUP_SECTS_DEFAULT 4      /* setup_sects == 0 means 4 */

#define BOOT_PROTO_MIN     0x020c  /* 2.12: xloadflags, 64-bit entry */
#define BOOT_PROTO_RSDP    0x020e  /* 2.14: acpi_rsdp_addr */

/* loadflags */
#define LOADED_HIGH        (1u << 0)
#define KASLR_FLAG         (1u << 1)
#define QUIET_FLAG         (1u << 5)
#define KEEP_SEGMENTS      (1u << 6)
#define CAN_USE_HEAP       (1u << 7)

/* xloadflags */
#define XLF_KERNEL_64                (1u << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G   (1u << 1)

#define LOADER_TYPE_UNDEFINED 0xff
#define BOOT_HEAP_END_PTR     0xfe00  /* the customary value; unused on 64-bit entry */
#define BOOT_INITRD_ADDR_MAX_DEFAULT 0x37FFFFFFu

#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2
#define E820_MAX_ENTRIES   128

struct __attribute__((packed)) setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
};

struct __attribute__((packed)) e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct __attribute__((packed)) boot_params {
	uint8_t screen_info[0x40];
	uint8_t apm_bios_info[0x14];
	uint8_t pad2[4];
	uint64_t tboot_addr;
	uint8_t ist_info[0x10];
	uint64_t acpi_rsdp_addr;
	uint8_t pad3[8];
	uint8_t hd0_info[16];
	uint8_t hd1_info[16];
	uint8_t sys_desc_table[16];
	uint8_t olpc_ofw_header[16];
	uint32_t ext_ramdisk_image;
	uint32_t ext_ramdisk_size;
	uint32_t ext_cmd_line_ptr;
	uint8_t pad4[112];
	uint32_t cc_blob_address;
	uint8_t edid_info[0x80];
	uint8_t efi_info[0x20];
	uint32_t alt_mem_k;
	uint32_t scratch;
	uint8_t e820_entries;
	uint8_t eddbuf_entries;
	uint8_t edd_mbr_sig_buf_entries;
	uint8_t kbd_status;
	uint8_t secure_boot;
	uint8_t pad5[2];
	uint8_t sentinel;
	uint8_t pad6[1];
	struct setup_header hdr;
	uint8_t pad7[0x290 - SETUP_HDR_OFFSET - sizeof(struct setup_header)];
	uint32_t edd_mbr_sig_buffer[16];
	struct e820_entry e820_table[E820_MAX_ENTRIES];
	uint8_t pad8[48];
	uint8_t eddbuf[0x1ec];
	uint8_t pad9[276];
};

#define BP_CHECK(field, off) \
	_Static_assert(offsetof(struct boot_params, field) == (off), #field)
#define HDR_CHECK(field, off) \
	_Static_assert(SETUP_HDR_OFFSET + offsetof(struct setup_header, field) == (off), #field)

BP_CHECK(acpi_rsdp_addr, 0x070);
BP_CHECK(ext_ramdisk_image, 0x0c0);
BP_CHECK(ext_ramdisk_size, 0x0c4);
BP_CHECK(ext_cmd_line_ptr, 0x0c8);
BP_CHECK(cc_blob_address, 0x13c);
BP_CHECK(alt_mem_k, 0x1e0);
BP_CHECK(e820_entries, 0x1e8);
BP_CHECK(sentinel, 0x1ef);
BP_CHECK(hdr, 0x1f1);
BP_CHECK(edd_mbr_sig_buffer, 0x290);
BP_CHECK(e820_table, 0x2d0);
BP_CHECK(eddbuf, 0xd00);
_Static_assert(sizeof(struct boot_params) == 0x1000, "boot_params is one page");
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry");

HDR_CHECK(syssize, 0x1f4);
HDR_CHECK(boot_flag, 0x1fe);
HDR_CHECK(jump, 0x200);
HDR_CHECK(header, 0x202);
HDR_CHECK(version, 0x206);
HDR_CHECK(type_of_loader, 0x210);
HDR_CHECK(loadflags, 0x211);
HDR_CHECK(code32_start, 0x214);
HDR_CHECK(ramdisk_image, 0x218);
HDR_CHECK(ramdisk_size, 0x21c);
HDR_CHECK(heap_end_ptr, 0x224);
HDR_CHECK(cmd_line_ptr, 0x228);
HDR_CHECK(initrd_addr_max, 0x22c);
HDR_CHECK(kernel_alignment, 0x230);
HDR_CHECK(relocatable_kernel, 0x234);
HDR_CHECK(xloadflags, 0x236);
HDR_CHECK(cmdline_size, 0x238);
HDR_CHECK(setup_data, 0x250);
HDR_CHECK(pref_address, 0x258);
HDR_CHECK(init_size, 0x260);
HDR_CHECK(kernel_info_offset, 0x268);

#undef BP_CHECK
#undef HDR_CHECK

#endif
